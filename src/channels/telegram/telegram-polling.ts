/**
 * The getUpdates loop, written for durability rather than taken from grammY's bot.start(): Telegram
 * forgets an update once a getUpdates call asks for a higher offset, so the offset only ever moves past an
 * update after its handler resolved (the task is on disk). When a handler fails, the offset stays on that
 * update and the next poll fetches it again, after a backoff; the adapter's handler parks an update that
 * keeps failing as a task (inbound-task.ts), which resolves it, so one bad update cannot stop its chat.
 *
 * Updates of one batch run in parallel across chats but in order within a chat (a conversation's tasks
 * are queued in the order its messages arrived). Updates already handled in this process are skipped if
 * a failure elsewhere in their batch makes Telegram send them again.
 */
import type { Update } from 'grammy/types';
import type { Logger } from '../../observability/logger.js';
import { sleep } from '../../util/abort.js';

export interface UpdatePollerDeps {
  /** One getUpdates call; resolves with the batch (empty after the long-poll timeout). */
  getUpdates(offset: number | undefined, timeoutSec: number, signal?: AbortSignal): Promise<Update[]>;
  /** Resolves once the update is durable (or deliberately dropped); rejects to have it fetched again. */
  handle(update: Update): Promise<void>;
  /** Whether a getUpdates failure is worth retrying (false: a refused token; the loop stops). */
  retryable(err: unknown): boolean;
  describe(err: unknown): string;
  logger: Logger;
  /** Long-poll timeout, seconds. */
  timeoutSec: number;
  /** First backoff after a failure; doubles up to 30 s. */
  retryDelayMs: number;
}

export class UpdatePoller {
  private offset: number | undefined;
  /** The offset Telegram last saw: updates below it are gone from the server. */
  private confirmed: number | undefined;
  private readonly handled = new Set<number>();
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: UpdatePollerDeps) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops polling after the batch in hand is handled, then tells Telegram what was handled. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.loop;
    if (this.offset !== undefined && this.offset !== this.confirmed) {
      // a short, non-blocking poll whose only purpose is to confirm the offset (grammY does the same)
      await this.deps
        .getUpdates(this.offset, 0)
        .then(() => (this.confirmed = this.offset))
        .catch((err: unknown) =>
          this.deps.logger.debug({ err: this.deps.describe(err) }, 'could not confirm the last updates'),
        );
    }
  }

  private async run(): Promise<void> {
    const { logger } = this.deps;
    const signal = this.stopController.signal;
    let failures = 0;
    while (!signal.aborted) {
      let batch: Update[];
      try {
        batch = await this.deps.getUpdates(this.offset, this.deps.timeoutSec, signal);
        this.confirmed = this.offset;
      } catch (err) {
        if (signal.aborted) break;
        if (!this.deps.retryable(err)) {
          logger.error({ err: this.deps.describe(err) }, 'Telegram polling stopped');
          return;
        }
        failures++;
        logger.warn({ err: this.deps.describe(err), failures }, 'Telegram getUpdates failed; retrying');
        await this.backoff(failures);
        continue;
      }
      const ok = await this.handleBatch(batch);
      failures = ok ? 0 : failures + 1;
      if (!ok) await this.backoff(failures);
    }
  }

  /** Handles a batch; true when every update in it is done. Moves the offset past the done prefix. */
  private async handleBatch(batch: Update[]): Promise<boolean> {
    const byChat = new Map<string, Update[]>();
    for (const u of [...batch].sort((a, b) => a.update_id - b.update_id)) {
      if (this.handled.has(u.update_id)) continue;
      const key = String(chatOf(u) ?? `update:${u.update_id}`);
      byChat.set(key, [...(byChat.get(key) ?? []), u]);
    }
    let allOk = true;
    await Promise.all(
      [...byChat.values()].map(async (updates) => {
        for (const u of updates) {
          try {
            await this.deps.handle(u);
            this.handled.add(u.update_id);
          } catch (err) {
            allOk = false;
            this.deps.logger.warn(
              { updateId: u.update_id, err: this.deps.describe(err) },
              'could not store a Telegram update; it will be fetched again',
            );
            // later messages of this chat wait, so the conversation keeps its order
            return;
          }
        }
      }),
    );
    // the offset moves to the first update that is not done yet (or past the whole batch)
    let next = this.offset;
    for (const u of [...batch].sort((a, b) => a.update_id - b.update_id)) {
      if (!this.handled.has(u.update_id)) break;
      next = u.update_id + 1;
    }
    this.offset = next;
    for (const id of this.handled) if (next !== undefined && id < next) this.handled.delete(id);
    return allOk;
  }

  private async backoff(failures: number): Promise<void> {
    const ms = Math.min(30_000, this.deps.retryDelayMs * 2 ** Math.min(10, failures - 1));
    await sleep(ms, this.stopController.signal).catch(() => undefined);
  }
}

function chatOf(u: Update): number | undefined {
  return (u.message ?? u.edited_message ?? u.channel_post)?.chat.id;
}
