/**
 * The worker-thread side of espeak-thread.ts: starts each espeak-ng process, collects its WAV output and
 * decodes it to float PCM, so that neither the fork of a large Node process (tens of milliseconds each on a
 * loaded machine) nor the WAV decoding runs on the main thread's event loop. The samples are transferred
 * back, not copied.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { parentPort } from 'node:worker_threads';
import { wavToPcm } from '../../audio/wav.js';

export interface EspeakJob {
  id: number;
  binary: string;
  args: string[];
  input: string;
  /** Characters of stderr kept (its end). */
  maxStderr: number;
}

export interface EspeakCancel {
  cancel: number;
}

export type EspeakAnswer =
  | {
      id: number;
      kind: 'done';
      exitCode: number | null;
      stderr: string;
      sampleRate?: number;
      samples?: Float32Array;
    }
  | { id: number; kind: 'spawn_error'; code?: string; message: string }
  | { id: number; kind: 'bad_output'; message: string };

const running = new Map<number, ChildProcess>();
/** Jobs waiting for a process slot, oldest first. */
const queued: EspeakJob[] = [];
/**
 * At most one espeak-ng process per core at a time: each is CPU-bound for its few tens of milliseconds, so
 * more only take turns on the same cores, and every extra runnable process takes CPU time from the event
 * loop's thread (20 replies spoken at once started 20 processes on 2 cores).
 */
const MAX_PROCESSES = Math.max(1, os.availableParallelism());

function next(): void {
  while (running.size < MAX_PROCESSES) {
    const job = queued.shift();
    if (!job) return;
    run(job);
  }
}

function run(job: EspeakJob): void {
  const post = (answer: EspeakAnswer, transfer: ArrayBuffer[] = []) => {
    running.delete(job.id);
    parentPort!.postMessage(answer, transfer);
    next();
  };
  const child = spawn(job.binary, job.args, { stdio: ['pipe', 'pipe', 'pipe'] });
  running.set(job.id, child);
  const stdout: Buffer[] = [];
  let stderr = '';
  let settled = false;
  child.on('error', (err: NodeJS.ErrnoException) => {
    child.kill('SIGKILL');
    if (settled) return;
    settled = true;
    post({ id: job.id, kind: 'spawn_error', ...(err.code ? { code: err.code } : {}), message: err.message });
  });
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-job.maxStderr);
  });
  child.stdin!.on('error', () => undefined); // EPIPE: the exit status says what happened
  child.on('close', (exitCode) => {
    if (settled) return;
    settled = true;
    const wav = Buffer.concat(stdout);
    if (exitCode !== 0 || wav.length === 0) return post({ id: job.id, kind: 'done', exitCode, stderr });
    try {
      const pcm = wavToPcm(wav);
      post({ id: job.id, kind: 'done', exitCode, stderr, sampleRate: pcm.sampleRate, samples: pcm.samples }, [
        pcm.samples.buffer as ArrayBuffer,
      ]);
    } catch (err) {
      post({ id: job.id, kind: 'bad_output', message: err instanceof Error ? err.message : String(err) });
    }
  });
  child.stdin!.end(job.input);
}

parentPort?.on('message', (m: EspeakJob | EspeakCancel) => {
  if ('cancel' in m) {
    const waiting = queued.findIndex((j) => j.id === m.cancel);
    if (waiting >= 0) queued.splice(waiting, 1);
    running.get(m.cancel)?.kill('SIGKILL');
    running.delete(m.cancel);
    next();
    return;
  }
  queued.push(m);
  next();
});
parentPort?.postMessage({ ready: true });
