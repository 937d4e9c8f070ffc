/**
 * The bubblewrap backend, June's default on Linux. Each command gets new user, pid, ipc, uts and
 * network namespaces (no network at all, loopback included, unless the call asks for it), the system
 * directories read-only, the workspace read-write at /workspace, a private size-capped /tmp, a fresh
 * /proc that shows only the sandbox's own processes, no host $HOME, a cleared environment, no
 * capabilities, and no nested user namespaces. `--die-with-parent` and `--new-session` keep it from
 * outliving June or reaching June's terminal. Limits: prlimit inside (CPU, address space, file size,
 * processes), and the shared wall-clock, disk and output limits of runContained.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { containedLimits, runContained } from './contained.js';
import { baseEnv, limitsFor, prlimitPrefix, type SandboxLimits } from './limits.js';
import { SandboxError, type ExecOptions, type ExecResult, type Sandbox } from './types.js';
import { openRunCgroup } from './cgroup.js';
import { runningAsRoot } from './workspace-owner.js';
import type { Logger } from '../observability/logger.js';

export const BWRAP_BIN = 'bwrap';
/** The user the command sees itself as, inside. */
const INNER_UID = 1000;
const ROOT_LINKS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];
/** The parts of /etc programs need to start; the rest of the host's /etc (shadow, ssh keys) stays out. */
const ETC_FILES = [
  'alternatives',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'localtime',
  'ssl',
  'ca-certificates',
  'mime.types',
  'nsswitch.conf',
  'gitconfig',
];
const NETWORK_ETC_FILES = ['resolv.conf', 'hosts'];
const OUTER_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin' };

export interface BubblewrapOptions {
  limits: SandboxLimits;
  logger?: Logger;
}

let warned = false;
/** Root's processes are exempt from RLIMIT_NPROC: without a pids cgroup only the timeout stops a fork bomb. */
function warnNoProcessLimit(logger: Logger | undefined): void {
  if (warned) return;
  warned = true;
  logger?.warn(
    'June runs as root and no pids cgroup is writable: a fork bomb in the sandbox is stopped only by the timeout',
  );
}

export class BubblewrapSandbox implements Sandbox {
  readonly kind = 'bubblewrap' as const;
  readonly isolates = true;
  private readonly etcDir: string;

  constructor(private readonly options: BubblewrapOptions) {
    this.etcDir = writeIdentityFiles();
  }

  async exec(command: readonly string[], options: ExecOptions): Promise<ExecResult> {
    if (command.length === 0) throw new SandboxError('no command given');
    const limits = limitsFor(this.options.limits, options);
    const workspace = path.resolve(options.workspace);
    const cgroup = openRunCgroup(limits);
    if (!cgroup && runningAsRoot()) warnNoProcessLimit(this.options.logger);
    const argv = [
      BWRAP_BIN,
      ...bubblewrapArgs({ workspace, network: options.network ?? false, etcDir: this.etcDir, limits }),
      ...baseEnvArgs(options.env),
      '--',
      ...prlimitPrefix(limits, { addressSpace: !cgroup?.limitsMemory }),
      ...command,
    ];
    return runContained(
      { argv, env: OUTER_ENV, cwd: '/', measure: true, ...(cgroup ? { cgroup } : {}) },
      containedLimits(limits, workspace, options),
    ).catch((err: unknown) => {
      throw new SandboxError(`bwrap could not be started: ${(err as Error).message}`, undefined, err);
    });
  }
}

/** The bwrap options for one run, up to (not including) the environment and the command. */
export function bubblewrapArgs(o: {
  workspace: string;
  network: boolean;
  etcDir: string;
  limits: SandboxLimits;
}): string[] {
  const args = [
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(o.network ? [] : ['--unshare-net']),
    '--disable-userns',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--uid',
    String(INNER_UID),
    '--gid',
    String(INNER_UID),
    '--hostname',
    'june-sandbox',
    '--ro-bind',
    '/usr',
    '/usr',
    ...rootLinkArgs(),
  ];
  for (const name of [...ETC_FILES, ...(o.network ? NETWORK_ETC_FILES : [])])
    args.push('--ro-bind-try', `/etc/${name}`, `/etc/${name}`);
  args.push(
    '--ro-bind',
    path.join(o.etcDir, 'passwd'),
    '/etc/passwd',
    '--ro-bind',
    path.join(o.etcDir, 'group'),
    '/etc/group',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--size',
    String(Math.min(o.limits.diskMb, 512) * 1024 * 1024),
    '--tmpfs',
    '/tmp',
    '--bind',
    o.workspace,
    '/workspace',
    '--chdir',
    '/workspace',
    '--clearenv',
  );
  return args;
}

function baseEnvArgs(extra: Record<string, string> | undefined): string[] {
  return Object.entries(baseEnv('/workspace', extra)).flatMap(([k, v]) => ['--setenv', k, v]);
}

/** passwd and group files naming the sandbox user, so `id`, git and pip find a name and a home. */
function writeIdentityFiles(): string {
  const dir = path.join(os.tmpdir(), `june-sandbox-etc-${process.getuid?.() ?? 0}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.writeFileSync(
    path.join(dir, 'passwd'),
    `june:x:${INNER_UID}:${INNER_UID}:June sandbox:/workspace:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
    { mode: 0o644 },
  );
  fs.writeFileSync(path.join(dir, 'group'), `june:x:${INNER_UID}:\nnogroup:x:65534:\n`, { mode: 0o644 });
  return dir;
}

/** Whether bubblewrap can create its namespaces here: runs `true` in a minimal sandbox. */
export function checkBubblewrap(): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    execFile(
      BWRAP_BIN,
      ['--unshare-all', '--die-with-parent', '--ro-bind', '/usr', '/usr', ...rootLinkArgs(), '/usr/bin/true'],
      { timeout: 10_000, env: OUTER_ENV },
      (err, _stdout, stderr) => {
        if (!err) return resolve({ ok: true, detail: 'bwrap can create user, pid and network namespaces' });
        const code = (err as NodeJS.ErrnoException).code;
        resolve({
          ok: false,
          detail: code === 'ENOENT' ? 'bwrap not installed' : `bwrap fails: ${stderr.trim() || err.message}`,
        });
      },
    );
  });
}

function rootLinkArgs(): string[] {
  return ROOT_LINKS.flatMap((name) => {
    const host = `/${name}`;
    const st = fs.lstatSync(host, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) return ['--symlink', fs.readlinkSync(host), host];
    return st?.isDirectory() ? ['--ro-bind', host, host] : [];
  });
}
