/**
 * Error classes shared by every part of June.
 *
 * Every error that can reach a user carries `userMessage`: one clear sentence, never a stack trace.
 * `code` is stable (used in logs, metrics labels and API errors); `retryable` tells the task layer
 * whether another attempt can help (a corrupt file never gets better, a 503 might).
 *
 * The retry rule is BullMQ's: everything is retried (bounded by the task's attempts) unless it is known to
 * be final. Final are the failures no retry can fix: bad input (audio, validation), a wrong setup, refused
 * credentials (4xx). `isRetryable` is the one function that decides; the queue backends and the handlers
 * all ask it.
 */
export interface JuneErrorOptions {
  code: string;
  userMessage?: string;
  retryable?: boolean;
  cause?: unknown;
}

/**
 * Codes of failures that no retry can fix: the input, the setup or the credentials are wrong. An error
 * with one of these codes is final unless it says otherwise (`retryable: true`); every other code is
 * retried unless it says otherwise.
 */
const FINAL_CODES: ReadonlySet<string> = new Set([
  'config_invalid',
  'cli_usage',
  'cancelled',
  'task_invalid',
  'lease_lost',
  'stt_engine_missing',
  'tts_engine_missing',
  'stt_language_unsupported',
  'tts_voice_unknown',
  'llm_context',
  'model_not_found',
  'model_offline',
  'model_checksum',
  'model_invalid',
]);

export class JuneError extends Error {
  readonly code: string;
  readonly userMessage: string;
  readonly retryable: boolean;

  constructor(message: string, options: JuneErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.userMessage = options.userMessage ?? message;
    this.retryable = options.retryable ?? !FINAL_CODES.has(options.code);
  }
}

/** A client error (4xx) other than a timeout or a rate limit: the same request fails the same way. */
function isFinalStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** A configuration value is missing or invalid. `key` is the env/config key that is wrong. */
export class ConfigError extends JuneError {
  readonly key: string;
  constructor(key: string, message: string) {
    super(`Invalid config ${key}: ${message}`, { code: 'config_invalid' });
    this.key = key;
  }
}

export type AudioErrorCode =
  | 'audio_empty'
  | 'audio_not_audio'
  | 'audio_corrupt'
  | 'audio_too_long'
  | 'audio_too_large'
  | 'audio_unsupported'
  | 'audio_no_speech'
  | 'audio_engine_missing';

/** The user's audio cannot be used. Never retryable: the same bytes will fail the same way. */
export class AudioError extends JuneError {
  declare readonly code: AudioErrorCode;
  constructor(code: AudioErrorCode, message: string, userMessage: string, cause?: unknown) {
    super(message, { code, userMessage, retryable: false, cause });
  }
}

/** A provider (STT, LLM, TTS) failed. `provider` is e.g. "openai-llm" or "espeak-ng". */
export class ProviderError extends JuneError {
  readonly provider: string;
  readonly status: number | undefined;
  constructor(
    provider: string,
    message: string,
    options: {
      code?: string;
      retryable?: boolean;
      status?: number;
      userMessage?: string;
      cause?: unknown;
    } = {},
  ) {
    super(`${provider}: ${message}`, {
      code: options.code ?? 'provider_error',
      // an answer the server refused (bad request, bad key) is final; a crash, a 5xx or a timeout is not
      ...(options.retryable !== undefined || isFinalStatus(options.status)
        ? { retryable: options.retryable ?? false }
        : {}),
      userMessage:
        options.userMessage ?? 'Something went wrong while I was working on that. Please try again.',
      cause: options.cause,
    });
    this.provider = provider;
    this.status = options.status;
  }
}

/** The provider's server cannot be reached at all (connection refused, DNS, …). */
export class ProviderUnavailableError extends ProviderError {
  /** `userMessage` names the server for the user; the default speaks of the language model server. */
  constructor(
    provider: string,
    url: string,
    cause?: unknown,
    userMessage = 'My language model server is not reachable right now. Please try again in a moment.',
  ) {
    super(provider, `cannot reach ${url}${cause instanceof Error ? ` (${cause.message})` : ''}`, {
      code: 'provider_unavailable',
      retryable: true,
      userMessage,
      cause,
    });
  }
}

/** The model output could not be understood (malformed JSON, broken stream). */
export class MalformedOutputError extends ProviderError {
  constructor(provider: string, message: string, cause?: unknown) {
    super(provider, message, { code: 'malformed_output', retryable: true, cause });
  }
}

/** A model file is missing and could not be downloaded. */
export class ModelError extends JuneError {
  constructor(
    code: 'model_not_found' | 'model_download_failed' | 'model_offline' | 'model_checksum' | 'model_invalid',
    message: string,
    cause?: unknown,
  ) {
    super(message, { code, retryable: code === 'model_download_failed', cause, userMessage: message });
  }
}

/** A stage ran past its time limit. */
export class StageTimeoutError extends JuneError {
  readonly stage: string;
  constructor(stage: string, ms: number) {
    super(`${stage} timed out after ${ms} ms`, {
      code: 'timeout',
      retryable: true,
      userMessage: 'That took too long to answer. Please try again.',
    });
    this.stage = stage;
  }
}

/** The caller cancelled the work (AbortSignal). */
export class CancelledError extends JuneError {
  constructor(message = 'cancelled') {
    super(message, { code: 'cancelled', retryable: false, userMessage: 'Cancelled.' });
  }
}

/**
 * The worker is shutting down: the running attempt stops (as a cancel would) but the task is given back
 * to the queue and runs again, so a handler that tells the user can say "interrupted", not "cancelled".
 */
export class WorkerStoppingError extends CancelledError {
  constructor(message = 'worker shutting down') {
    super(message);
  }
}

/**
 * Turns anything thrown into a JuneError so callers can rely on code/userMessage. An unexpected error (a
 * library's `TypeError('fetch failed')`, a bug) becomes a retryable 'internal' error: the task's attempts
 * bound the retries, and a transient failure must not lose the user's request.
 */
export function toJuneError(err: unknown): JuneError {
  if (err instanceof JuneError) return err;
  if (err instanceof Error && err.name === 'AbortError') return new CancelledError(err.message || 'aborted');
  const message =
    err instanceof Error ? err.message : typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err));
  return new JuneError(message || 'unknown error', {
    code: 'internal',
    userMessage: 'Something went wrong on my side. Please try again.',
    cause: err,
  });
}

/**
 * A one-line description of anything thrown, with what its cause says: undici's "fetch failed" keeps the
 * socket error in `cause`, grammY's HttpError wraps the fetch error in `error`; an errno code is appended.
 * Callers that may hold a secret in the text (a token in a URL) redact it afterwards.
 */
export function describeError(err: unknown): string {
  let text = err instanceof Error ? err.message : String(err);
  const wrapper = err instanceof Error ? (err as { error?: unknown; cause?: unknown }) : undefined;
  const inner = wrapper?.error ?? wrapper?.cause;
  if (inner instanceof Error && inner.message && !text.includes(inner.message)) text += ` (${inner.message})`;
  const code = (inner as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && !text.includes(code)) text += ` [${code}]`;
  return text;
}

/** Whether another attempt could help: the one retry rule (see the header). */
export function isRetryable(err: unknown): boolean {
  return toJuneError(err).retryable;
}

/** Codes of a provider's server going away mid-answer (restarted, crashed). */
const OUTAGE_CODES: ReadonlySet<string> = new Set(['llm_stream_interrupted', 'speech_server_dropped']);

/**
 * The provider whose server is down when `err` says so (unreachable, a 5xx, a stream cut off), else
 * undefined. The task layer pauses that provider's work while it is down instead of spending attempts.
 */
export function outageOf(err: unknown): string | undefined {
  if (!(err instanceof ProviderError) || !err.retryable) return undefined;
  const down =
    err instanceof ProviderUnavailableError ||
    (err.status !== undefined && err.status >= 500) ||
    OUTAGE_CODES.has(err.code);
  return down ? err.provider : undefined;
}
