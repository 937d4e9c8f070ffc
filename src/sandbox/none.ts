/**
 * The `none` backend: a plain subprocess in the workspace, for machines where neither bubblewrap nor
 * Docker works. It isolates nothing: the command can read and write whatever June's user can, reach the
 * network, see other processes. Only the resource limits hold (prlimit, wall clock, disk quota, output
 * cap), and the environment is still cleared. It is used only when chosen explicitly (JUNE_SANDBOX=none),
 * and says so loudly in the log and in `june doctor`.
 */
import path from 'node:path';
import type { Logger } from '../observability/logger.js';
import { openRunCgroup } from './cgroup.js';
import { containedLimits, runContained } from './contained.js';
import { baseEnv, limitsFor, prlimitPrefix, type SandboxLimits } from './limits.js';
import { SandboxError, type ExecOptions, type ExecResult, type Sandbox } from './types.js';
import { handWorkspaceTo, runningAsRoot } from './workspace-owner.js';

export const NONE_WARNING =
  'JUNE_SANDBOX=none: commands run as plain subprocesses with NO isolation (files, network, processes are all reachable); use only on a machine you can afford to lose';

export class UnsandboxedRunner implements Sandbox {
  readonly kind = 'none' as const;
  readonly isolates = false;

  constructor(private readonly options: { limits: SandboxLimits; rootUid?: number; logger?: Logger }) {
    options.logger?.warn(NONE_WARNING);
  }

  async exec(command: readonly string[], options: ExecOptions): Promise<ExecResult> {
    if (command.length === 0) throw new SandboxError('no command given');
    const limits = limitsFor(this.options.limits, options);
    const workspace = path.resolve(options.workspace);
    // Even unisolated, root's processes escape the process limit; run them as an ordinary user.
    const uid = runningAsRoot() ? (this.options.rootUid ?? 65534) : undefined;
    if (uid !== undefined) await handWorkspaceTo(workspace, uid, uid);
    const cgroup = openRunCgroup(limits);
    const argv = [...prlimitPrefix(limits, { addressSpace: !cgroup?.limitsMemory }), ...command];
    return runContained(
      {
        argv,
        env: baseEnv(workspace, options.env),
        cwd: workspace,
        measure: true,
        ...(cgroup ? { cgroup } : {}),
        ...(uid !== undefined ? { uid, gid: uid } : {}),
      },
      containedLimits(limits, workspace, options),
    ).catch((err: unknown) => {
      throw new SandboxError(`the command could not be started: ${(err as Error).message}`, undefined, err);
    });
  }
}
