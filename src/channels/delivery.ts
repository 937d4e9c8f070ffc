/**
 * Sends a reply through a channel with retries: waits out 429s (retry_after), backs off on transient
 * errors, splits long text at the platform limit, and attaches the text to a voice note as a caption when
 * it fits (else sends it as messages after the voice note). Each part is a separate step so a re-run after
 * a crash does not send parts that already went out.
 */
import type { Logger } from '../observability/logger.js';
import { withSpan } from '../observability/tracing.js';
import { sleep } from '../util/abort.js';
import { JuneError } from '../util/errors.js';
import { RateLimitedError } from './errors.js';
import { splitText } from './text-split.js';
import type { ChannelAdapter, ReplyTarget, VoiceNote } from './types.js';

export interface DeliveryOptions {
  /** Runs a step once per task (the task queue's `once`); default: just runs it. */
  once?: <T>(step: string, fn: () => Promise<T>) => Promise<T>;
  signal?: AbortSignal;
  logger?: Logger;
  maxRateLimitWaitMs?: number;
  attempts?: number;
}

export interface Reply {
  text: string;
  voice?: VoiceNote;
}

export async function sendWithRetry<T>(fn: () => Promise<T>, opts: DeliveryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 5;
  const maxWait = opts.maxRateLimitWaitMs ?? 60_000;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      if (err instanceof RateLimitedError) {
        if (err.retryAfterMs > maxWait) throw err;
        opts.logger?.warn(
          { channel: err.channel, retryAfterMs: err.retryAfterMs },
          'rate limited by the platform; waiting',
        );
        await sleep(err.retryAfterMs, opts.signal);
      } else if (err instanceof JuneError && err.retryable) {
        await sleep(Math.min(8000, 500 * 2 ** (i - 1)), opts.signal);
      } else {
        throw err;
      }
    }
  }
}

/** Sends the reply inside a `channel.deliver` span (a child of the task's run, in the message's trace). */
export function deliverReply(
  adapter: ChannelAdapter,
  target: ReplyTarget,
  reply: Reply,
  opts: DeliveryOptions = {},
): Promise<void> {
  const attributes = { 'june.channel': adapter.name, 'june.reply_voice': reply.voice !== undefined };
  return withSpan('channel.deliver', attributes, () => deliverParts(adapter, target, reply, opts));
}

async function deliverParts(
  adapter: ChannelAdapter,
  target: ReplyTarget,
  reply: Reply,
  opts: DeliveryOptions,
): Promise<void> {
  const once = opts.once ?? (<T>(_s: string, fn: () => Promise<T>) => fn());
  const text = reply.text.trim();
  let textParts = text ? splitText(text, adapter.limits.maxTextLength) : [];
  if (reply.voice) {
    const caption = text && text.length <= adapter.limits.maxCaptionLength ? text : undefined;
    await once('deliver:voice', () =>
      sendWithRetry(() => adapter.sendVoice(target, reply.voice!, caption), opts),
    );
    if (caption) textParts = [];
  }
  for (const [i, part] of textParts.entries()) {
    await once(`deliver:text:${i}`, () => sendWithRetry(() => adapter.sendText(target, part), opts));
  }
}
