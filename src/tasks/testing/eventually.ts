/** Bounded polling helpers for tests and crash scripts: wait for a condition, never forever. */
import type { Lease, TaskQueue } from '../types.js';

export async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 15_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Claims a task, recovering expired leases between tries, until one comes or the time is up. */
export function claimEventually(
  queue: TaskQueue,
  capabilities: readonly string[],
  workerId = 'test-worker',
  timeoutMs = 15_000,
): Promise<Lease> {
  return eventually(
    async () => {
      await queue.recoverExpired(capabilities);
      return queue.claim(capabilities, workerId);
    },
    `a claimable ${capabilities.join('/')} task`,
    timeoutMs,
  );
}
