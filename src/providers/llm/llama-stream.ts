/**
 * Plumbing between node-llama-cpp's callback-style generation and June's async-iterable chat stream.
 */
import { abortReason } from '../../util/abort.js';

/** A queue that callbacks push into and one consumer drains with `for await`. */
export class EventChannel<T> {
  private readonly items: T[] = [];
  private finished = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  push(item: T): void {
    if (this.finished) return;
    this.items.push(item);
    this.signal();
  }

  end(): void {
    this.finished = true;
    this.signal();
  }

  fail(error: unknown): void {
    if (this.finished) return;
    this.failure = { error };
    this.end();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *drain(): AsyncGenerator<T> {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.shift()!;
        continue;
      }
      if (this.failure) throw this.failure.error;
      if (this.finished) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/**
 * One-at-a-time access to the model's context sequence. Waiting is abortable: a request cancelled while it
 * queues behind another one leaves the queue at once.
 */
export class SerialLock {
  private tail: Promise<void> = Promise.resolve();

  async acquire(signal?: AbortSignal): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const previous = this.tail;
    this.tail = previous.then(() => mine);
    if (signal) {
      try {
        await new Promise<void>((resolve, reject) => {
          if (signal.aborted) return reject(abortReason(signal));
          const onAbort = () => reject(abortReason(signal));
          signal.addEventListener('abort', onAbort, { once: true });
          void previous.then(() => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          });
        });
      } catch (err) {
        release(); // our turn is passed on to whoever queued after us
        throw err;
      }
    } else {
      await previous;
    }
    return release;
  }
}

/**
 * Keeps whitespace off the edges of one output channel (answer or reasoning): leading whitespace is dropped,
 * and trailing whitespace is held back until more text follows, so "</think>\n\nHi\n" streams as "Hi".
 * This matches what the OpenAI-compatible provider does, so callers see the same text from both.
 */
export class EdgeTrimmer {
  private started = false;
  private pending = '';

  push(chunk: string): string {
    let text = this.pending + chunk;
    if (!this.started) text = text.trimStart();
    if (!text) {
      this.pending = '';
      return '';
    }
    this.started = true;
    const body = text.trimEnd();
    this.pending = text.slice(body.length);
    return body;
  }
}

/** Waits for `promise`, but rejects as soon as `signal` aborts (the work itself carries on for others). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
