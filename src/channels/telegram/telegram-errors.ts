/**
 * Bot API failures as June's channel errors: 429 → RateLimitedError (retry_after), 5xx and network
 * failures → retryable ChannelError, other 4xx → non-retryable ChannelError. The bot token is part of
 * every Bot API URL, so anything that may carry a URL (network errors, fetch causes) is redacted before it
 * becomes a message; raw causes are never attached.
 *
 * grammY is imported lazily, so its error classes are recognised by shape, not instanceof.
 */
import { describeError } from '../../util/errors.js';
import { ChannelError, RateLimitedError } from '../errors.js';
import { TELEGRAM } from './telegram-message.js';

interface ApiErrorShape {
  error_code: number;
  description: string;
  parameters?: { retry_after?: number };
  method?: string;
}

function isApiError(err: unknown): err is ApiErrorShape {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { error_code?: unknown }).error_code === 'number' &&
    typeof (err as { description?: unknown }).description === 'string'
  );
}

/** Replaces the token (and its URL-encoded form) wherever it appears. */
export function redactToken(text: string, token: string): string {
  if (!token) return text;
  return text.split(token).join('<token>').split(encodeURIComponent(token)).join('<token>');
}

/** describeError's one line for anything thrown, with the bot token removed. */
export function describeRedacted(err: unknown, token: string): string {
  return redactToken(describeError(err), token);
}

export interface ErrorContext {
  /** What was being done, e.g. "sendVoice". */
  action: string;
  token: string;
  /** The sentence a user gets if this error ends their task. */
  userMessage?: string;
}

/** Maps anything a Bot API call threw to RateLimitedError or ChannelError. */
export function toChannelError(err: unknown, ctx: ErrorContext): RateLimitedError | ChannelError {
  if (err instanceof RateLimitedError || err instanceof ChannelError) return err;
  const user = ctx.userMessage ? { userMessage: ctx.userMessage } : {};
  if (isApiError(err)) {
    const status = err.error_code;
    if (status === 429) {
      const seconds = err.parameters?.retry_after ?? 1;
      return new RateLimitedError(TELEGRAM, Math.max(0, seconds) * 1000);
    }
    const description = redactToken(err.description, ctx.token);
    if (status === 401)
      return new ChannelError(
        TELEGRAM,
        `${ctx.action}: the bot token was refused (401 ${description}); check JUNE_TELEGRAM_TOKEN`,
        { status, retryable: false, ...user },
      );
    return new ChannelError(TELEGRAM, `${ctx.action}: ${status} ${description}`, {
      status,
      retryable: status >= 500,
      ...user,
    });
  }
  return new ChannelError(TELEGRAM, `${ctx.action}: ${describeRedacted(err, ctx.token)}`, {
    retryable: true,
    ...user,
  });
}
