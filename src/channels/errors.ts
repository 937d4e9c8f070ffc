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
  /** The platform's HTTP/API status, when it answered (401 bad token, 409 conflict, …). */
  readonly status: number | undefined;
  constructor(
    readonly channel: string,
    message: string,
    options: { retryable?: boolean; status?: number; cause?: unknown; userMessage?: string } = {},
  ) {
    super(`${channel}: ${message}`, {
      code: 'channel_error',
      retryable: options.retryable ?? true,
      cause: options.cause,
      // a failed download is told to the user; "telegram: Bad Request: …" is not a sentence for them
      ...(options.userMessage ? { userMessage: options.userMessage } : {}),
    });
    this.status = options.status;
  }
}
