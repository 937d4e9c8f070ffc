/**
 * HTTP for the OpenAI-compatible audio endpoints (/audio/transcriptions, /audio/speech): one POST with
 * retries on connection failures and 5xx/429, the server's own error message kept, and abort support.
 * Reading the response body is part of an attempt, so a connection dropped mid-answer is retried too.
 */
import { ProviderError, ProviderUnavailableError } from '../../util/errors.js';
import { abortReason, sleep } from '../../util/abort.js';
import type { Logger } from '../../observability/logger.js';

export interface AudioHttpOptions {
  /** Provider name for errors and logs: "openai-stt" or "openai-tts". */
  provider: string;
  baseUrl: string;
  apiKey?: string;
  /** Retries after the first attempt (default 2). */
  retries?: number;
  /** Delay before the first retry, doubled for each further one (default 300 ms). */
  retryDelayMs?: number;
  /** Said to the user when the server cannot be reached, e.g. "My speech recognition server …". */
  unavailableMessage: string;
  logger: Logger;
}

/** What both audio clients accept for their server connection. */
export interface AudioClientOptions {
  baseUrl: string;
  apiKey?: string;
  retries?: number;
  retryDelayMs?: number;
}

/** The HTTP settings of an audio client, from its options. */
export function audioHttpOptions(
  provider: string,
  options: AudioClientOptions,
  unavailableMessage: string,
  logger: Logger,
): AudioHttpOptions {
  return {
    provider,
    baseUrl: options.baseUrl,
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
    unavailableMessage,
    logger,
  };
}

/** What fetch accepts as a body (the DOM's BodyInit, which Node's types do not declare globally). */
type RequestBody = NonNullable<RequestInit['body']>;

export function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/**
 * POSTs `makeBody()` (called afresh per attempt: a body can be consumed only once) to baseUrl/path and
 * hands the successful response to `read`. Errors: CancelledError (or the signal's reason) on abort,
 * ProviderUnavailableError (naming the speech server) when no attempt got an answer, ProviderError with `status` otherwise.
 */
export async function postWithRetries<T>(
  options: AudioHttpOptions,
  path: string,
  makeBody: () => { body: RequestBody; headers?: Record<string, string> },
  read: (response: Response) => Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  const url = joinUrl(options.baseUrl, path);
  const retries = options.retries ?? 2;
  for (let attempt = 0; ; attempt++) {
    try {
      return await attemptOnce(options, url, makeBody, read, signal);
    } catch (err) {
      if (signal?.aborted) throw abortReason(signal);
      const retryable = err instanceof ProviderError && err.retryable;
      if (!retryable || attempt >= retries) throw err;
      const delayMs = (options.retryDelayMs ?? 300) * 2 ** attempt;
      options.logger.warn(
        { provider: options.provider, attempt: attempt + 1, retries, delayMs, err: (err as Error).message },
        'speech server request failed, retrying',
      );
      await sleep(delayMs, signal);
    }
  }
}

async function attemptOnce<T>(
  options: AudioHttpOptions,
  url: string,
  makeBody: () => { body: RequestBody; headers?: Record<string, string> },
  read: (response: Response) => Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  const { body, headers } = makeBody();
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      body,
      headers: { ...headers, ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (signal?.aborted) throw abortReason(signal);
    // undici reports "fetch failed" and keeps the socket error ("connect ECONNREFUSED …") as the cause.
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    throw new ProviderUnavailableError(options.provider, url, cause, options.unavailableMessage);
  }
  if (!response.ok) throw await httpError(options.provider, url, response);
  try {
    return await read(response);
  } catch (err) {
    if (signal?.aborted) throw abortReason(signal);
    if (err instanceof ProviderError) throw err;
    // The body broke off half-way ("terminated", "other side closed"): worth another attempt.
    throw new ProviderError(
      options.provider,
      `reading the answer from ${url} failed: ${(err as Error).message}`,
      {
        code: 'speech_server_dropped',
        retryable: true,
        cause: err,
      },
    );
  }
}

async function httpError(provider: string, url: string, response: Response): Promise<ProviderError> {
  const raw = await response.text().catch(() => '');
  const status = response.status;
  const serverMessage = serverErrorMessage(raw) || response.statusText || 'no details';
  const retryable = status >= 500 || status === 429;
  return new ProviderError(provider, `HTTP ${status} from ${url}: ${serverMessage}`, {
    status,
    retryable,
    code: status === 401 || status === 403 ? 'speech_server_unauthorized' : 'speech_server_error',
  });
}

/** The message in {"error":{"message"}}, {"error":"…"}, {"detail":…} or {"message"}, else the raw text. */
export function serverErrorMessage(raw: string): string {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return raw.trim().slice(0, 300);
  }
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const error = b.error;
    if (typeof error === 'string') return error;
    if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
      return (error as { message: string }).message;
    }
    if (typeof b.detail === 'string') return b.detail;
    if (b.detail !== undefined) return JSON.stringify(b.detail).slice(0, 300);
    if (typeof b.message === 'string') return b.message;
  }
  return raw.trim().slice(0, 300);
}
