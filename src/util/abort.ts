import { CancelledError, JuneError, StageTimeoutError } from './errors.js';

/** Throws CancelledError if the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** The error to throw for an aborted signal: its reason if it is an Error, else CancelledError. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason;
  return new CancelledError();
}

/**
 * A signal that aborts when `parent` aborts or after `ms` milliseconds, whichever comes first.
 * The timeout aborts with a StageTimeoutError naming `stage`, so callers can tell a timeout from a cancel.
 * Call `dispose()` when the stage is over so the timer does not keep the process alive.
 */
export function stageSignal(
  stage: string,
  ms: number | undefined,
  parent?: AbortSignal,
): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent?.reason);
  if (parent) {
    if (parent.aborted) controller.abort(parent.reason);
    else parent.addEventListener('abort', onAbort, { once: true });
  }
  const timer =
    ms && ms > 0 ? setTimeout(() => controller.abort(new StageTimeoutError(stage, ms)), ms) : undefined;
  timer?.unref?.();
  return {
    signal: controller.signal,
    dispose: () => {
      if (timer) clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Runs `fn` with a stage signal (see stageSignal); a stage timeout surfaces as its StageTimeoutError, not
 * as whatever error the aborted work threw.
 */
export async function withStageSignal<T>(
  stage: string,
  ms: number | undefined,
  parent: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const s = stageSignal(stage, ms, parent);
  try {
    return await fn(s.signal);
  } catch (err) {
    throw s.signal.aborted && s.signal.reason instanceof JuneError && !parent?.aborted
      ? s.signal.reason
      : err;
  } finally {
    s.dispose();
  }
}

/** Resolves after `ms`, or rejects when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
