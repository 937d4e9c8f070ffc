/**
 * One live status message in a chat, edited as a long task goes (a plan's "2 of 4 done: searching…").
 * Platforms limit edits and a task may report many events a second, so edits are throttled: at most one
 * per `editIntervalMs`, always the latest line, and the final line always, once the edit before it landed.
 * The message id is a recorded step (`once`): a retried task edits the same message instead of sending a
 * second one; an edit that changes nothing is skipped. Nothing here throws: a status line is not worth
 * failing the task for. The coding run's status (code-status.ts) and a plan's (plan-delivery.ts) use it.
 */
import type { Logger } from '../observability/logger.js';
import { sendWithRetry } from './delivery.js';
import type { ChannelAdapter, ReplyTarget } from './types.js';

export interface StatusMessage {
  /** Shows this line soon (throttled); later lines replace earlier ones not yet shown. */
  update(line: string): void;
  /** Shows the final line; resolves once it is shown (or could not be). */
  finish(line: string): Promise<void>;
}

export interface StatusMessageOptions {
  target: ReplyTarget;
  initial: string;
  once<T>(step: string, fn: () => Promise<T>): Promise<T>;
  signal: AbortSignal;
  logger: Logger;
  /** Least time between two edits; 0 edits at every update (still one edit at a time). */
  editIntervalMs: number;
  /** The recorded step that keeps the message id (default 'status:message'). */
  step?: string;
}

const NO_STATUS: StatusMessage = { update: () => undefined, finish: async () => undefined };

/** A status message in the target's chat, or one that shows nothing where the channel cannot edit. */
export function statusMessage(channel: ChannelAdapter | undefined, o: StatusMessageOptions): StatusMessage {
  if (!channel?.sendEditableText || !channel.editText) return NO_STATUS;
  const { target } = o;
  const log = o.logger.child({ channel: target.channel, chatId: target.chatId });
  const send = channel.sendEditableText.bind(channel);
  const edit = channel.editText.bind(channel);
  const final = { logger: log, attempts: 3, maxRateLimitWaitMs: 10_000 };
  const retry = { ...final, signal: o.signal };

  const messageId: Promise<string | undefined> = o
    .once(o.step ?? 'status:message', () => sendWithRetry(() => send(target, o.initial), retry))
    .catch((err: unknown) => {
      log.warn({ err: String(err) }, 'could not send the status message');
      return undefined;
    });
  let shown = o.initial;
  let latest = o.initial;
  let lastEditAt = 0;
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;

  const editNow = (): Promise<void> => {
    const text = latest;
    const done = (async () => {
      const id = await messageId;
      if (!id || text === shown) return;
      await sendWithRetry(() => edit(target, id, text), retry);
      shown = text;
    })()
      .catch((err: unknown) => log.warn({ err: String(err) }, 'could not edit the status message'))
      .finally(() => {
        lastEditAt = Date.now();
        inFlight = undefined;
        if (!finished && latest !== shown) schedule();
      });
    inFlight = done;
    return done;
  };

  const schedule = () => {
    if (inFlight || timer || finished) return;
    const wait = lastEditAt + o.editIntervalMs - Date.now();
    if (wait <= 0) void editNow();
    else {
      timer = setTimeout(() => {
        timer = undefined;
        if (!finished) void editNow();
      }, wait);
      timer.unref();
    }
  };

  return {
    update(line) {
      if (finished) return;
      latest = line;
      schedule();
    },
    async finish(line) {
      finished = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      latest = line;
      await inFlight;
      const id = await messageId;
      if (!id || latest === shown) return;
      await sendWithRetry(() => edit(target, id, latest), final)
        .then(() => (shown = latest))
        .catch((err: unknown) => log.warn({ err: String(err) }, 'could not show the final status'));
    },
  };
}
