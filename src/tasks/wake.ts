/**
 * In-process wake-ups for idle worker slots and event subscribers. New work wakes one idle slot (as a
 * queue's marker wakes one blocked worker): a slot that then claims something passes the wake-up on, so a
 * burst spreads over all slots without every enqueue waking every slot.
 */
export class Wakeups {
  private readonly listeners = new Set<() => void>();
  private readonly waiters: Array<() => void> = [];
  /** A wake-up that found nobody waiting, kept for the next waiter (like a queue's marker). */
  private pending = false;

  get size(): number {
    return this.listeners.size + this.waiters.length;
  }

  /** Idle slots waiting for work now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** A listener is called on every `notify` (subscribers). */
  on(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Wakes every waiter and listener. */
  notify(): void {
    if (this.waiters.length === 0) this.pending = true;
    for (const w of this.waiters.splice(0)) w();
    for (const l of [...this.listeners]) l();
  }

  /** Wakes the longest-waiting waiter, and listeners. */
  notifyOne(): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter();
    else this.pending = true;
    for (const l of [...this.listeners]) l();
  }

  /** Only the listeners: for changes that are no new work (progress). */
  notifyListeners(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Resolves when woken, after `ms`, or when the signal aborts, whichever comes first. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      if (this.pending) {
        this.pending = false;
        return resolve();
      }
      const done = () => {
        clearTimeout(timer);
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
