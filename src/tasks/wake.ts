/**
 * In-process wake-ups: something that may have made work available (an enqueue, a finished task that
 * unblocks its conversation) wakes idle worker slots and event subscribers at once instead of at their
 * next poll.
 */
export class Wakeups {
  private readonly listeners = new Set<() => void>();

  get size(): number {
    return this.listeners.size;
  }

  on(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Resolves at the next notify, after `ms`, or when the signal aborts, whichever comes first. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      const done = () => {
        clearTimeout(timer);
        off();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      const off = this.on(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
