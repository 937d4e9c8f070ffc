/**
 * An update that cannot be taken in must neither block its chat forever nor be lost. A platform that
 * redelivers (Telegram's getUpdates offset and webhook retries) tries an update `inboundMaxAttempts` times;
 * then `withParking` parks it: the raw update becomes a `channel.inbound` task, which is durable, so the
 * update counts as handled and the chat's later messages go on. The task runs the intake again (read the
 * update, the gateway); when that keeps failing it ends in the dead-letter queue and the user hears that
 * their message is kept. `june tasks redrive` (or the web tasks view) runs it again once the cause is fixed.
 *
 * If parking fails too (the task database is down), the update stays where it was and is fetched again:
 * nothing that reached June is dropped.
 */
import type { Logger } from '../observability/logger.js';
import type { HandlerContext, HandlerRegistry } from '../tasks/handlers.js';
import type { TaskQueue } from '../tasks/types.js';
import { JuneError } from '../util/errors.js';
import { sendWithRetry } from './delivery.js';
import { sendOutcomeReply, type ChannelGateway } from './gateway.js';
import type { ChannelAdapter, ReplyTarget } from './types.js';

export const CHANNEL_INBOUND_KIND = 'channel.inbound';

export const INBOUND_DEAD_NOTICE =
  "Sorry, I couldn't take in one of your messages. It is kept, and I'll answer it once the problem is fixed.";

/** The payload of a parked update: enough to run the intake again and to tell the sender. */
export interface ParkedInbound {
  channel: string;
  /** A stable id of the update on its platform (the idempotency key of the parked task). */
  updateId: string;
  /** What `ChannelAdapter.readInbound` reads back into an InboundMessage. */
  raw: unknown;
  /** Why the intake failed the last time it was tried on receipt. */
  error: string;
  attempts: number;
  /** Where to send the notice when the update ends in the dead-letter queue (when known). */
  target?: ReplyTarget;
}

export type ParkInbound = (parked: ParkedInbound) => Promise<void>;

/** Parks an update as a task. Resolves once the task is durable; rejects when it could not be stored. */
export function parkInbound(queue: TaskQueue): ParkInbound {
  return async (parked) => {
    await queue.enqueue({
      kind: CHANNEL_INBOUND_KIND,
      capability: 'chat',
      payload: parked,
      idempotencyKey: `inbound:${parked.channel}:${parked.updateId}`,
    });
  };
}

export interface ParkingOptions<U> {
  channel: string;
  /** Tries per update before it is parked (at least 1). */
  maxAttempts: number;
  park?: ParkInbound;
  updateId(update: U): string;
  /** What the parked task stores (the update plus whatever reading it needs). */
  raw(update: U): unknown;
  target(update: U): ReplyTarget | undefined;
  describe(err: unknown): string;
  logger: Logger;
}

/**
 * Wraps an update handler: failures are counted per update, and the `maxAttempts`-th failure parks the
 * update instead of failing again. Without `park` (no queue in this process) the handler is unchanged.
 */
export function withParking<U>(
  handle: (update: U) => Promise<void>,
  options: ParkingOptions<U>,
): (update: U) => Promise<void> {
  const { park } = options;
  if (!park) return handle;
  const failures = new Map<string, number>();
  return async (update) => {
    const id = options.updateId(update);
    try {
      await handle(update);
      failures.delete(id);
    } catch (err) {
      const attempts = (failures.get(id) ?? 0) + 1;
      failures.set(id, attempts);
      if (attempts < options.maxAttempts) throw err;
      const target = options.target(update);
      await park({
        channel: options.channel,
        updateId: id,
        raw: options.raw(update),
        error: options.describe(err),
        attempts,
        ...(target ? { target } : {}),
      });
      failures.delete(id);
      options.logger.warn(
        { updateId: id, attempts, err: options.describe(err) },
        'an update failed every time; parked as a task so its chat can go on',
      );
    }
  };
}

export interface InboundHandlerDeps {
  adapter: (channel: string) => ChannelAdapter | undefined;
  /**
   * The gateway of this process; undefined in a runtime without a queue (a send-only runtime in a test),
   * where the attempt fails and the task is retried by another worker. `june start` and `june worker`
   * both give their runtime the queue, so either can take a parked update in.
   */
  gateway: () => ChannelGateway | undefined;
}

export interface InboundTaskResult {
  outcome: string;
  taskId?: string;
}

export function registerInboundHandler(registry: HandlerRegistry, deps: InboundHandlerDeps): void {
  registry.register(CHANNEL_INBOUND_KIND, 'chat', (ctx: HandlerContext<ParkedInbound>) =>
    runInboundTask(ctx, deps),
  );
}

/** Runs the intake of a parked update again; on its last attempt a failure tells the sender. */
export async function runInboundTask(
  ctx: HandlerContext<ParkedInbound>,
  deps: InboundHandlerDeps,
): Promise<InboundTaskResult> {
  const { channel, raw, target } = ctx.task.payload;
  const adapter = deps.adapter(channel);
  try {
    const gateway = deps.gateway();
    if (!adapter?.readInbound || !gateway)
      throw new JuneError(`channel ${channel} does not receive messages in this process`, {
        code: 'channel_unavailable',
        retryable: true,
        userMessage: INBOUND_DEAD_NOTICE,
      });
    const msg = adapter.readInbound(raw);
    if (!msg) return { outcome: 'ignored' };
    const outcome = await gateway.accept(msg, adapter, { redelivered: true });
    await ctx.once('deliver:reply', () => sendOutcomeReply(outcome, msg, adapter, ctx.logger));
    if (outcome.kind === 'accepted') return { outcome: 'accepted', taskId: outcome.taskId };
    return { outcome: `${outcome.kind}:${outcome.reason}` };
  } catch (err) {
    // the intake is retried whatever failed: a redrive after the fix is the point of parking
    const failure =
      err instanceof JuneError && err.retryable
        ? err
        : new JuneError(`the intake of a ${channel} update failed: ${String(err)}`, {
            code: 'inbound_failed',
            retryable: true,
            userMessage: INBOUND_DEAD_NOTICE,
            cause: err,
          });
    if (!ctx.willRetry(failure) && adapter && target) {
      await ctx
        .once('deliver:notice', () =>
          sendWithRetry(() => adapter.sendText(target, INBOUND_DEAD_NOTICE), {
            signal: ctx.signal,
            logger: ctx.logger,
          }),
        )
        .catch((sendErr: unknown) =>
          ctx.logger.warn({ err: String(sendErr) }, 'could not tell the user about the parked message'),
        );
    }
    throw failure;
  }
}
