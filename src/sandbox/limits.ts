/**
 * Resource limits shared by the backends: the defaults, and the `prlimit` prefix that applies them inside
 * the sandbox. prlimit runs as the first process in the sandbox (after the user namespace exists), so the
 * process count is counted per sandbox rather than against everything the host user runs.
 */
export interface SandboxLimits {
  timeoutMs: number;
  memoryMb: number;
  cpuSeconds: number;
  maxProcesses: number;
  fileSizeMb: number;
  /** Quota of the workspace as a whole; the disk watchdog kills the run past it. */
  diskMb: number;
  /** Bytes of stdout and of stderr kept: half from the start, half from the end. */
  outputBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  timeoutMs: 120_000,
  memoryMb: 1024,
  cpuSeconds: 300,
  maxProcesses: 256,
  fileSizeMb: 256,
  diskMb: 1024,
  outputBytes: 64 * 1024,
};

export const PRLIMIT_BIN = '/usr/bin/prlimit';
const MB = 1024 * 1024;

/** `prlimit --as=… --cpu=… --fsize=… --nproc=… --core=0 --` */
export function prlimitPrefix(limits: SandboxLimits, options: { addressSpace: boolean }): string[] {
  return [
    PRLIMIT_BIN,
    ...(options.addressSpace ? [`--as=${limits.memoryMb * MB}`] : []),
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`,
    `--fsize=${limits.fileSizeMb * MB}`,
    `--nproc=${limits.maxProcesses}`,
    '--core=0',
    '--',
  ];
}

/** The limits for one exec: the configured ones, overridden by what the call asks for. */
export function limitsFor(
  base: SandboxLimits,
  options: { timeoutMs?: number | undefined; memoryMb?: number | undefined; cpuSeconds?: number | undefined },
): SandboxLimits {
  return {
    ...base,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.memoryMb !== undefined ? { memoryMb: options.memoryMb } : {}),
    ...(options.cpuSeconds !== undefined ? { cpuSeconds: options.cpuSeconds } : {}),
  };
}

/** The environment every sandboxed command starts from; nothing of the host's (and so no secret) is in it. */
export function baseEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    TMPDIR: '/tmp',
    ...extra,
  };
}
