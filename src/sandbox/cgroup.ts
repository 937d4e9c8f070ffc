/**
 * Per-run control groups, where the machine lets June create them: a process limit that holds whoever
 * the sandbox runs as (the kernel exempts root's processes from RLIMIT_NPROC, so prlimit alone cannot
 * stop a fork bomb when June runs as root), a memory limit on resident memory rather than address space,
 * the OOM kills counted, and one call that kills every process of the run.
 *
 * cgroup v2 is used when its `pids` and `memory` controllers can be enabled below June's own group;
 * otherwise the v1 `pids` and `memory` hierarchies when they are writable (hybrid hosts). Without
 * either, the limits are prlimit's only (see docs/sandbox.md).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

interface Layout {
  version: 1 | 2;
  /** Parent directory per controller ('all' for v2). */
  parents: { pids: string; memory: string | undefined };
}

export interface RunCgroup {
  /** The command line that enters the group(s) and then execs `argv`. */
  wrap(argv: string[]): string[];
  /** The group directories to enter (for a launcher that enters them itself instead of `wrap`). */
  dirs: readonly string[];
  /** True when the memory limit applies (then no address-space limit is needed). */
  limitsMemory: boolean;
  oomKills(): number;
  killAll(): void;
  remove(): Promise<void>;
}

let detected: Layout | null | undefined;

export function cgroupLayout(): Layout | null {
  if (detected !== undefined) return detected;
  detected = null;
  try {
    detected = detectV2() ?? detectV1();
  } catch {
    detected = null;
  }
  return detected;
}

function mounts(): { point: string; type: string; options: string }[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => {
      const [left, right] = line.split(' - ');
      const point = left?.split(' ')[4];
      const [type, , options] = (right ?? '').split(' ');
      return { point: point ?? '', type: type ?? '', options: options ?? '' };
    })
    .filter((m) => m.type.startsWith('cgroup'));
}

function ownPath(controller: string): string | undefined {
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, p] = line.split(':');
    if (controllers === undefined || p === undefined) continue;
    if (controller === '' ? controllers === '' : controllers.split(',').includes(controller)) return p;
  }
  return undefined;
}

function writable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function detectV2(): Layout | null {
  const mount = mounts().find((m) => m.type === 'cgroup2');
  const own = ownPath('');
  if (!mount || own === undefined) return null;
  const base = path.join(mount.point, own);
  const controllers = fs.readFileSync(path.join(base, 'cgroup.controllers'), 'utf8').split(/\s+/);
  if (!controllers.includes('pids') || !controllers.includes('memory') || !writable(base)) return null;
  // June's own group holds processes, so limits go on a child that holds none: june-sandbox/<run>.
  const parent = path.join(base, 'june-sandbox');
  fs.mkdirSync(parent, { recursive: true });
  fs.writeFileSync(path.join(parent, 'cgroup.subtree_control'), '+pids +memory');
  return { version: 2, parents: { pids: parent, memory: parent } };
}

function detectV1(): Layout | null {
  const all = mounts().filter((m) => m.type === 'cgroup');
  const dirFor = (controller: string): string | undefined => {
    const mount = all.find((m) => m.options.split(',').includes(controller));
    const own = ownPath(controller);
    if (!mount || own === undefined) return undefined;
    const dir = path.join(mount.point, own);
    return writable(dir) ? dir : undefined;
  };
  const pids = dirFor('pids');
  if (!pids) return null;
  return { version: 1, parents: { pids, memory: dirFor('memory') } };
}

/** Creates the run's group(s) with their limits, or returns undefined when cgroups are not usable. */
export function openRunCgroup(limits: { maxProcesses: number; memoryMb: number }): RunCgroup | undefined {
  const layout = cgroupLayout();
  if (!layout) return undefined;
  const name = `june-run-${randomUUID().slice(0, 12)}`;
  const bytes = String(limits.memoryMb * 1024 * 1024);
  const dirs: string[] = [];
  let memoryDir: string | undefined;
  try {
    const pidsDir = path.join(layout.parents.pids, name);
    fs.mkdirSync(pidsDir);
    dirs.push(pidsDir);
    fs.writeFileSync(path.join(pidsDir, 'pids.max'), String(limits.maxProcesses));
    if (layout.version === 2) {
      memoryDir = pidsDir;
      fs.writeFileSync(path.join(pidsDir, 'memory.max'), bytes);
      fs.writeFileSync(path.join(pidsDir, 'memory.swap.max'), '0');
    } else if (layout.parents.memory) {
      memoryDir = path.join(layout.parents.memory, name);
      fs.mkdirSync(memoryDir);
      dirs.push(memoryDir);
      fs.writeFileSync(path.join(memoryDir, 'memory.limit_in_bytes'), bytes);
      const memsw = path.join(memoryDir, 'memory.memsw.limit_in_bytes');
      if (fs.existsSync(memsw)) fs.writeFileSync(memsw, bytes);
    }
  } catch {
    for (const d of [...dirs].reverse()) fs.rmSync(d, { recursive: false, force: true });
    return undefined;
  }
  const procsOf = (dir: string): number[] => {
    try {
      return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return []; // already removed
    }
  };
  const killAll = () => {
    for (const dir of dirs) {
      if (layout.version === 2 && fs.existsSync(path.join(dir, 'cgroup.kill'))) {
        fs.writeFileSync(path.join(dir, 'cgroup.kill'), '1', { flag: 'r+' });
        continue;
      }
      for (const pid of procsOf(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  };
  return {
    limitsMemory: memoryDir !== undefined,
    dirs,
    // `sh` writes its own pid into each group, then becomes the command: every descendant is inside.
    wrap: (argv) => [
      '/bin/sh',
      '-c',
      `for d in ${dirs.map((d) => `'${d}'`).join(' ')}; do echo $$ > "$d/cgroup.procs" || exit 125; done; exec "$@"`,
      'june-cgroup',
      ...argv,
    ],
    oomKills: () => {
      if (!memoryDir) return 0;
      const file = path.join(memoryDir, layout.version === 2 ? 'memory.events' : 'memory.oom_control');
      const m = /oom_kill (\d+)/.exec(fs.readFileSync(file, 'utf8'));
      return m ? Number(m[1]) : 0;
    },
    killAll,
    remove: async () => {
      for (const dir of [...dirs].reverse()) {
        // A group can only be removed once empty; killed processes take a moment to be reaped.
        for (let i = 0; i < 100; i++) {
          killAll();
          try {
            fs.rmdirSync(dir);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
    },
  };
}
