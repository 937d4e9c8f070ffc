/**
 * The one seam between June and "run this command somewhere it cannot hurt the machine". The agent's
 * execute_command, `june sandbox exec` and the evaluation harness all go through `Sandbox.exec`; every
 * backend is run through the same behaviour suite (sandbox.behaviour.ts), hostile cases included.
 */
import { JuneError } from '../util/errors.js';

export type SandboxKind = 'bubblewrap' | 'docker' | 'none';

export interface ExecOptions {
  /** Host directory mounted read-write as the command's working directory (/workspace inside). */
  workspace: string;
  /** Wall-clock limit; the whole process tree is killed when it passes. */
  timeoutMs?: number;
  /** Memory limit (address space where no cgroup is available). */
  memoryMb?: number;
  /** CPU time limit of each process. */
  cpuSeconds?: number;
  /** Network access. Default false: no network at all, loopback included. */
  network?: boolean;
  /** Extra environment variables; the host environment is never passed through. */
  env?: Record<string, string>;
  /** Written to the command's stdin, which is then closed (closed at once when omitted). */
  stdin?: string;
  /** Aborts the run like a timeout does, but reports a cancel. */
  signal?: AbortSignal;
}

/** Why the command did not end on its own. */
export type KilledBy = 'timeout' | 'memory' | 'cpu' | 'file_size' | 'disk' | 'cancelled';

export interface ExecResult {
  /** The command's exit code; 124 after a timeout, 137 when killed for a limit (as `june sandbox exec`). */
  exitCode: number;
  /** Capped: head and tail kept, the middle replaced by a note. */
  stdout: string;
  stderr: string;
  timedOut: boolean;
  killedBy: KilledBy | null;
  wallMs: number;
  /** User + system CPU of the whole tree; null where the backend cannot measure it. */
  cpuMs: number | null;
  /** Largest resident set of any process in the tree; null where not measurable. */
  maxRssKb: number | null;
}

export interface Sandbox {
  readonly kind: SandboxKind;
  /** True when the backend isolates the command from the host (false only for `none`). */
  readonly isolates: boolean;
  /** Runs `command` (argv, no shell) in the sandbox. Rejects only when the sandbox itself cannot run. */
  exec(command: readonly string[], options: ExecOptions): Promise<ExecResult>;
}

/** The sandbox itself could not run (backend missing, engine down, bad workspace). */
export class SandboxError extends JuneError {
  constructor(message: string, userMessage?: string, cause?: unknown) {
    super(message, {
      code: 'sandbox_unavailable',
      retryable: false,
      userMessage: userMessage ?? `The sandbox cannot run commands here: ${message}`,
      cause,
    });
  }
}
