/**
 * Picks the sandbox backend from the configuration (JUNE_SANDBOX) and reports whether it works here, for
 * `june doctor`, `june sandbox exec`, the coding agent, and a worker deciding to advertise `code`.
 */
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { BubblewrapSandbox, checkBubblewrap } from './bubblewrap.js';

export { checkBubblewrap };
import { DockerSandbox, checkDockerEngine, dockerClientEnv } from './docker.js';
import type { SandboxLimits } from './limits.js';
import { NONE_WARNING, UnsandboxedRunner } from './none.js';
import type { Sandbox, SandboxKind } from './types.js';

type SandboxConfig = Pick<
  JuneConfig,
  | 'sandbox'
  | 'sandboxTimeoutMs'
  | 'sandboxMemoryMb'
  | 'sandboxCpuSeconds'
  | 'sandboxMaxProcesses'
  | 'sandboxFileSizeMb'
  | 'sandboxDiskMb'
  | 'sandboxOutputBytes'
  | 'sandboxDockerImage'
  | 'sandboxUid'
>;

export function sandboxLimits(config: SandboxConfig): SandboxLimits {
  return {
    timeoutMs: config.sandboxTimeoutMs,
    memoryMb: config.sandboxMemoryMb,
    cpuSeconds: config.sandboxCpuSeconds,
    maxProcesses: config.sandboxMaxProcesses,
    fileSizeMb: config.sandboxFileSizeMb,
    diskMb: config.sandboxDiskMb,
    outputBytes: config.sandboxOutputBytes,
  };
}

export function createSandbox(
  config: SandboxConfig,
  logger?: Logger,
  kind: SandboxKind = config.sandbox,
): Sandbox {
  const limits = sandboxLimits(config);
  if (kind === 'docker') return new DockerSandbox({ limits, image: config.sandboxDockerImage });
  if (kind === 'none')
    return new UnsandboxedRunner({ limits, rootUid: config.sandboxUid, ...(logger ? { logger } : {}) });
  return new BubblewrapSandbox({ limits, ...(logger ? { logger } : {}) });
}

/** Whether the configured backend can run commands on this machine, in one line. */
export async function checkSandbox(
  kind: SandboxKind,
): Promise<{ ok: boolean; detail: string; warning?: string }> {
  if (kind === 'bubblewrap') return checkBubblewrap();
  if (kind === 'docker') return checkDockerEngine(dockerClientEnv(process.env));
  return { ok: true, detail: 'plain subprocesses, no isolation', warning: NONE_WARNING };
}
