import { JuneError } from '../util/errors.js';

/** The platform answered 429; try again after `retryAfterMs`. */
export class RateLimitedError extends JuneError {
  constructor(
    readonly channel: string,
    readonly retryAfterMs: number,
  ) {
    super(`${channel}: rate limited, retry after ${retryAfterMs} ms`, {
      code: 'channel_rate_limited',
      retryable: true,
    });
  }
}

/** Sending or downloading failed on the platform's side. */
export class ChannelError extends JuneError {
  constructor(
    readonly channel: string,
    message: string,
    options: { retryable?: boolean; status?: number; cause?: unknown } = {},
  ) {
    super(`${channel}: ${message}`, {
      code: 'channel_error',
      retryable: options.retryable ?? true,
      cause: options.cause,
    });
  }
}
