/**
 * Runs a program to completion with its output in memory: stdin written and closed, stdout collected,
 * stderr kept within a bound, and the child SIGKILLed the moment the signal aborts, so a stuck engine
 * never outlives its request. Used for ffmpeg, espeak-ng and pocketsphinx_continuous.
 */
import { spawn } from 'node:child_process';
import { abortReason } from './abort.js';

export interface RunProcessOptions {
  /** Written to stdin, which is then closed (closed at once when omitted). */
  input?: Buffer | string;
  signal?: AbortSignal;
  /** Characters of stderr to keep. */
  maxStderr: number;
  /** Keep the start of a long stderr (default) or its end. */
  keepStderr?: 'head' | 'tail';
  /** The error to reject with when the program cannot be started (ENOENT: not installed). */
  spawnError: (err: NodeJS.ErrnoException) => Error;
}

export interface ProcessResult {
  exitCode: number | null;
  stdout: Buffer;
  stderr: string;
}

export function runProcess(
  binary: string,
  args: readonly string[],
  options: RunProcessOptions,
): Promise<ProcessResult> {
  const { input, signal } = options;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<ProcessResult>((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(() => reject(abortReason(signal!)));
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err: NodeJS.ErrnoException) => {
      child.kill('SIGKILL');
      finish(() => reject(options.spawnError(err)));
    });
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (options.keepStderr === 'tail') stderr = (stderr + chunk).slice(-options.maxStderr);
      else if (stderr.length < options.maxStderr) stderr += chunk;
    });
    // EPIPE/ECONNRESET: the program stopped reading (finished early or gave up); its exit status says which.
    child.stdin.on('error', () => undefined);
    child.on('close', (exitCode) =>
      finish(() => resolve({ exitCode, stdout: Buffer.concat(stdout), stderr })),
    );
    child.stdin.end(input ?? '');
  });
}
