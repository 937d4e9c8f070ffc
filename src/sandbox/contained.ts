/**
 * Runs one prepared sandbox command line and turns what happened into an ExecResult. Shared by every
 * backend, so the limits that do not depend on isolation behave the same everywhere:
 *  - the process runs in its own process group, under `setpriv --pdeathsig KILL` (it dies with June);
 *  - the wall-clock timeout and a cancel SIGKILL the whole group, then `onKill` (e.g. `docker kill`);
 *  - a disk watchdog kills the run when the workspace grows past its quota;
 *  - stdout and stderr are capped (head and tail kept), however much the command writes;
 *  - GNU time, when installed, reports user + system CPU and the largest resident set of the tree
 *    (rusage of waited-for descendants), through a file descriptor that no sandboxed process can reach.
 * The cgroup entry, death signal, user change and rusage report are done by one small native process,
 * native/sandbox-launch.c (built on first use), instead of the `sh` → `setpriv` → `time` chain: three
 * execs fewer per command. JUNE_SANDBOX_LAUNCHER=chain keeps the old chain (and it is the fallback
 * where no C compiler is found).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunCgroup } from './cgroup.js';
import { fileURLToPath } from 'node:url';
import { diskUsage } from './disk-usage.js';
import { OutputCap } from './output-cap.js';
import type { SandboxLimits } from './limits.js';
import type { ExecOptions, ExecResult, KilledBy } from './types.js';

export interface ContainedPlan {
  /** The backend's command line: binary first. */
  argv: string[];
  /** The complete environment of the spawned process (never the host's). */
  env: Record<string, string>;
  /** Host uid/gid to run as (June running as root hands the sandbox an unprivileged user). */
  uid?: number;
  gid?: number;
  cwd: string;
  /** Wrap in GNU time for CPU and RSS figures (meaningless where the work happens elsewhere, e.g. Docker). */
  measure: boolean;
  /** Extra cleanup after a kill (the process group is already dead). */
  onKill?: () => Promise<void>;
  /** The run's control group: entered before anything else starts, emptied and removed at the end. */
  cgroup?: RunCgroup;
}

export interface ContainedLimits {
  timeoutMs: number;
  workspace: string;
  diskLimitBytes?: number;
  outputHeadBytes: number;
  outputTailBytes: number;
  stdin?: string;
  signal?: AbortSignal;
}

/** The run limits every backend derives the same way from an exec's limits, workspace and options. */
export function containedLimits(
  limits: Pick<SandboxLimits, 'timeoutMs' | 'diskMb' | 'outputBytes'>,
  workspace: string,
  options: Pick<ExecOptions, 'stdin' | 'signal'>,
): ContainedLimits {
  return {
    timeoutMs: limits.timeoutMs,
    workspace,
    diskLimitBytes: limits.diskMb * 1024 * 1024,
    outputHeadBytes: Math.floor(limits.outputBytes / 2),
    outputTailBytes: Math.ceil(limits.outputBytes / 2),
    ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

const TIME_BIN = '/usr/bin/time';
const SETPRIV_BIN = '/usr/bin/setpriv';
const WATCH_INTERVAL_MS = 200;
/** How long the output pipes may stay open after the command has exited. */
const DRAIN_MS = 2000;
/** Signals the kernel sends for a broken limit, by number: SIGKILL, SIGXCPU, SIGXFSZ. */
const LIMIT_SIGNALS: Record<number, KilledBy> = { 24: 'cpu', 25: 'file_size' };

export const hasGnuTime = fs.existsSync(TIME_BIN);
const hasSetpriv = fs.existsSync(SETPRIV_BIN);

let launcherPath: string | null | undefined;

/**
 * native/sandbox-launch, built once into the user's cache; null when it cannot be built, or when
 * JUNE_SANDBOX_LAUNCHER=chain asks for the old chain (read on every call, so a benchmark can compare).
 */
export function sandboxLauncher(): string | null {
  if (process.env.JUNE_SANDBOX_LAUNCHER === 'chain') return null;
  if (launcherPath !== undefined) return launcherPath;
  launcherPath = null;
  try {
    const script = fileURLToPath(new URL('../../native/build-launch.sh', import.meta.url));
    const out = execFileSync('/bin/sh', [script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    });
    const bin = out.trim().split('\n').pop() ?? '';
    if (bin && fs.existsSync(bin)) launcherPath = bin;
  } catch {
    // no compiler: the setpriv + time chain below does the same with more processes
  }
  return launcherPath;
}

/** The command line that starts the backend's argv with the cgroup, death signal, user and stats applied. */
function launchArgv(plan: ContainedPlan, statsFd: number | undefined): string[] {
  const launcher = sandboxLauncher();
  if (launcher) {
    return [
      launcher,
      ...(plan.cgroup?.dirs ?? []).flatMap((d) => ['--cgroup', d]),
      ...(plan.uid !== undefined ? ['--uid', String(plan.uid), '--gid', String(plan.gid ?? plan.uid)] : []),
      ...(statsFd !== undefined ? ['--stats-fd', '3'] : []),
      '--',
      ...plan.argv,
    ];
  }
  const inner = [
    ...(hasSetpriv ? [SETPRIV_BIN, '--pdeathsig', 'KILL', ...dropTo(plan), '--'] : []),
    ...(statsFd !== undefined ? [TIME_BIN, '-q', '-f', '%U %S %M', '-o', '/dev/fd/3'] : []),
    ...plan.argv,
  ];
  return plan.cgroup ? plan.cgroup.wrap(inner) : inner;
}

export function runContained(plan: ContainedPlan, limits: ContainedLimits): Promise<ExecResult> {
  const started = performance.now();
  const statsFd =
    plan.measure && (hasGnuTime || sandboxLauncher()) ? openStatsFile(plan.uid, plan.gid) : undefined;
  const argv = launchArgv(plan, statsFd);
  return new Promise<ExecResult>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: plan.cwd,
      env: plan.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', ...(statsFd !== undefined ? [statsFd] : [])],
      // Without setpriv the user is changed at spawn (then a cgroup cannot be entered; see dropTo).
      ...(!hasSetpriv && !sandboxLauncher() && plan.uid !== undefined
        ? { uid: plan.uid, gid: plan.gid ?? plan.uid }
        : {}),
    });
    const stdout = new OutputCap(limits.outputHeadBytes, limits.outputTailBytes);
    const stderr = new OutputCap(limits.outputHeadBytes, limits.outputTailBytes);
    let killedBy: KilledBy | null = null;
    let settled = false;

    const kill = (why: KilledBy) => {
      if (killedBy === null) killedBy = why;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // the group is already gone
        }
      }
      plan.cgroup?.killAll();
      void plan.onKill?.().catch(() => undefined);
    };
    const timer = setTimeout(() => kill('timeout'), limits.timeoutMs);
    const onAbort = () => kill('cancelled');
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    if (limits.signal?.aborted) onAbort();
    const watchdog = limits.diskLimitBytes
      ? watchDisk(limits.workspace, limits.diskLimitBytes, () => kill('disk'))
      : undefined;

    const cleanup = () => {
      clearTimeout(timer);
      watchdog?.stop();
      limits.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (err) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (statsFd !== undefined) fs.closeSync(statsFd);
      void plan.cgroup?.remove();
      reject(err);
    });
    child.stdout!.on('data', (c: Buffer) => stdout.push(c));
    child.stderr!.on('data', (c: Buffer) => stderr.push(c));
    child.stdin!.on('error', () => undefined); // the command did not read its input: not our failure
    child.stdin!.end(limits.stdin ?? '');
    // A process that left the group (setsid, only possible where no pid namespace or cgroup holds it) may
    // keep the pipes open: once the command itself has exited, wait a moment for its output, then stop.
    let drain: NodeJS.Timeout | undefined;
    child.on('exit', () => {
      drain = setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
      }, DRAIN_MS);
      drain.unref();
    });
    child.on('close', (code, signal) => {
      clearTimeout(drain);
      if (settled) return;
      settled = true;
      cleanup();
      // Processes that escaped the pipes (daemonised) still belong to the group: none may outlive the run.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // nothing left, as it should be
        }
      }
      const stats = statsFd !== undefined ? readStats(statsFd) : undefined;
      const raw = code ?? 128 + (signal ? (os.constants.signals[signal] ?? 9) : 9);
      if (killedBy === null && raw > 128) killedBy = LIMIT_SIGNALS[raw - 128] ?? null;
      if (killedBy === null && plan.cgroup && plan.cgroup.oomKills() > 0) killedBy = 'memory';
      const timedOut = killedBy === 'timeout';
      const done = plan.cgroup ? plan.cgroup.remove() : Promise.resolve();
      void done.then(() =>
        resolve({
          exitCode: timedOut ? 124 : killedBy !== null && killedBy !== 'cancelled' ? 137 : raw,
          stdout: stdout.text(),
          stderr: stderr.text(),
          timedOut,
          killedBy,
          wallMs: performance.now() - started,
          cpuMs: stats?.cpuMs ?? null,
          maxRssKb: stats?.maxRssKb ?? null,
        }),
      );
    });
  });
}

/** setpriv options that change to the plan's user after the cgroup wrapper (which needs root) has run. */
function dropTo(plan: ContainedPlan): string[] {
  if (plan.uid === undefined) return [];
  return [`--reuid=${plan.uid}`, `--regid=${plan.gid ?? plan.uid}`, '--clear-groups'];
}

/**
 * A private file for GNU time's report: created, unlinked at once (nothing can open it by name), then
 * opened for the child as fd 3. It is made writable for the sandbox user only after it has no name.
 */
function openStatsFile(uid?: number, gid?: number): number {
  const file = path.join(os.tmpdir(), `june-stats-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fd = fs.openSync(file, 'wx+', 0o600);
  fs.unlinkSync(file);
  if (uid !== undefined) fs.fchownSync(fd, uid, gid ?? uid);
  return fd;
}

function readStats(fd: number): { cpuMs: number; maxRssKb: number } | undefined {
  try {
    const buf = Buffer.alloc(256);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const last = buf.subarray(0, n).toString('utf8').trim().split('\n').pop() ?? '';
    const m = /^([\d.]+) ([\d.]+) (\d+)$/.exec(last);
    if (!m) return undefined;
    return { cpuMs: Math.round((Number(m[1]) + Number(m[2])) * 1000), maxRssKb: Number(m[3]) };
  } finally {
    fs.closeSync(fd);
  }
}

function watchDisk(workspace: string, limit: number, onOver: () => void): { stop: () => void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    const usage = await diskUsage(workspace, limit);
    if (stopped) return;
    if (usage.bytes > limit) return onOver();
    timer = setTimeout(() => void tick(), WATCH_INTERVAL_MS);
  };
  timer = setTimeout(() => void tick(), WATCH_INTERVAL_MS);
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
