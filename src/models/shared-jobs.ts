/**
 * In-process de-duplication of downloads: callers asking for the same file share one job. Each caller gets
 * the progress events and can cancel its own wait with its own signal; the job itself is cancelled only when
 * every caller has gone, so one impatient request never breaks a download others still wait for.
 */
import { abortReason } from '../util/abort.js';
import type { DownloadProgress } from './download.js';

export interface JobCaller {
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
}

export interface JobContext {
  signal: AbortSignal;
  onProgress: (p: DownloadProgress) => void;
}

interface Job<T> {
  promise: Promise<T>;
  controller: AbortController;
  listeners: Set<{ fn: (p: DownloadProgress) => void }>;
  callers: number;
}

export class SharedJobs<T> {
  private readonly jobs = new Map<string, Job<T>>();

  /** Runs `start` for `key` unless a job for it is already running, and waits for it either way. */
  run(key: string, caller: JobCaller, start: (ctx: JobContext) => Promise<T>): Promise<T> {
    if (caller.signal?.aborted) return Promise.reject(abortReason(caller.signal));
    let job = this.jobs.get(key);
    if (!job) {
      const controller = new AbortController();
      const listeners = new Set<{ fn: (p: DownloadProgress) => void }>();
      const onProgress = (p: DownloadProgress) => {
        for (const l of listeners) l.fn(p);
      };
      const promise = Promise.resolve()
        .then(() => start({ signal: controller.signal, onProgress }))
        .finally(() => this.jobs.delete(key));
      job = { promise, controller, listeners, callers: 0 };
      this.jobs.set(key, job);
    }
    return join(job, caller);
  }

  /** Whether a job for `key` is running (for listings that show "downloading"). */
  has(key: string): boolean {
    return this.jobs.has(key);
  }
}

function join<T>(job: Job<T>, caller: JobCaller): Promise<T> {
  const listener = caller.onProgress ? { fn: caller.onProgress } : undefined;
  if (listener) job.listeners.add(listener);
  job.callers++;
  return new Promise<T>((resolve, reject) => {
    let left = false;
    const leave = () => {
      if (left) return false;
      left = true;
      job.callers--;
      if (listener) job.listeners.delete(listener);
      caller.signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = () => {
      if (!leave()) return;
      if (job.callers === 0) job.controller.abort(caller.signal!.reason);
      reject(abortReason(caller.signal!));
    };
    caller.signal?.addEventListener('abort', onAbort, { once: true });
    job.promise.then(
      (value) => leave() && resolve(value),
      (err: unknown) => leave() && reject(err),
    );
  });
}
