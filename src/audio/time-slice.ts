/**
 * In-process codec work runs on the main thread. Long inputs are processed in slices of a few
 * milliseconds with an event-loop turn between them, so other requests, stage timers and aborts are
 * not held up behind one decode.
 */
import { throwIfAborted } from '../util/abort.js';

export class TimeSlicer {
  private sliceStart = performance.now();

  constructor(
    private readonly signal: AbortSignal | undefined,
    private readonly sliceMs = 8,
  ) {}

  /** True once the current slice has used its time; then call `pause()`. */
  due(): boolean {
    return performance.now() - this.sliceStart >= this.sliceMs;
  }

  /** Lets the event loop run (timers included), then throws if the work was cancelled meanwhile. */
  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    throwIfAborted(this.signal);
    this.sliceStart = performance.now();
  }
}
