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
    const job = this.jobs.get(key) ?? this.begin(key, start);
    return join(job, caller, () => {
      // Callers arriving after this start a fresh job instead of joining one that is being cancelled.
      if (this.jobs.get(key) === job) this.jobs.delete(key);
    });
  }

  private begin(key: string, start: (ctx: JobContext) => Promise<T>): Job<T> {
    const controller = new AbortController();
    const listeners = new Set<{ fn: (p: DownloadProgress) => void }>();
    const onProgress = (p: DownloadProgress) => {
      for (const l of listeners) l.fn(p);
    };
    // Started on the next tick so `job` is in the map before `start` can observe anything.
    const promise = Promise.resolve()
      .then(() => start({ signal: controller.signal, onProgress }))
      .finally(() => {
        if (this.jobs.get(key) === job) this.jobs.delete(key);
      });
    const job: Job<T> = { promise, controller, listeners, callers: 0 };
    this.jobs.set(key, job);
    return job;
  }
}

function join<T>(job: Job<T>, caller: JobCaller, abandon: () => void): Promise<T> {
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
      const reason = abortReason(caller.signal!);
      if (job.callers > 0) return reject(reason);
      // The last caller cancels the job and hears back once it has stopped (part flushed, lock released).
      abandon();
      job.controller.abort(caller.signal!.reason);
      job.promise.then(
        () => reject(reason),
        () => reject(reason),
      );
    };
    caller.signal?.addEventListener('abort', onAbort, { once: true });
    job.promise.then(
      (value) => leave() && resolve(value),
      (err: unknown) => leave() && reject(err),
    );
  });
}
