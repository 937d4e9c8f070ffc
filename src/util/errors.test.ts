import { describe, expect, it } from 'vitest';
import { LlmHttpError } from '../providers/llm/openai-http.js';
import { toTaskError } from '../tasks/errors.js';
import {
  AudioError,
  CancelledError,
  ConfigError,
  JuneError,
  ModelError,
  ProviderError,
  ProviderUnavailableError,
  describeError,
  isRetryable,
  toJuneError,
} from './errors.js';

describe('the one retry rule', () => {
  it('retries what it does not know: a library network error stays retryable through toJuneError', () => {
    const fetchFailed = new TypeError('fetch failed');
    expect(isRetryable(fetchFailed)).toBe(true);
    const wrapped = toJuneError(fetchFailed);
    expect(wrapped).toMatchObject({ code: 'internal', retryable: true });
    // the pipeline wraps before the task layer sees it: the wrapped error must still be retried
    expect(isRetryable(wrapped)).toBe(true);
    expect(toTaskError(wrapped)).toMatchObject({ code: 'internal', retryable: true });
    expect(toTaskError('a thrown string')).toMatchObject({ message: 'a thrown string', retryable: true });
  });

  it('retries provider failures that a later attempt may fix', () => {
    expect(isRetryable(new ProviderError('espeak-ng', 'crashed', { code: 'tts_engine_failed' }))).toBe(true);
    expect(isRetryable(new ProviderError('openai-stt', 'HTTP 503', { status: 503 }))).toBe(true);
    expect(isRetryable(new ProviderUnavailableError('openai-llm', 'http://127.0.0.1:1/v1'))).toBe(true);
    expect(isRetryable(new LlmHttpError(500, 'boom', 'llm_server_error', undefined))).toBe(true);
    expect(isRetryable(new LlmHttpError(429, 'slow down', 'llm_rate_limited', undefined))).toBe(true);
    expect(isRetryable(new JuneError('ffmpeg failed', { code: 'audio_encode_failed' }))).toBe(true);
  });

  it('marks bad input, wrong setup, refused credentials and cancels as final', () => {
    expect(isRetryable(new AudioError('audio_not_audio', 'not audio', 'That is not audio.'))).toBe(false);
    expect(isRetryable(new ConfigError('JUNE_LLM_BASE_URL', 'not a URL'))).toBe(false);
    expect(isRetryable(new LlmHttpError(401, 'bad key', 'llm_unauthorized', undefined))).toBe(false);
    expect(isRetryable(new ProviderError('openai-tts', 'HTTP 403', { status: 403 }))).toBe(false);
    expect(isRetryable(new ProviderError('openai-stt', 'HTTP 400', { status: 400 }))).toBe(false);
    expect(isRetryable(new ProviderError('pocketsphinx', 'no', { code: 'stt_language_unsupported' }))).toBe(
      false,
    );
    expect(isRetryable(new ModelError('model_offline', 'offline'))).toBe(false);
    expect(isRetryable(new ModelError('model_download_failed', 'try later'))).toBe(true);
    expect(isRetryable(new CancelledError())).toBe(false);
    const abort = new Error('');
    abort.name = 'AbortError';
    expect(toTaskError(abort)).toMatchObject({ code: 'cancelled', retryable: false });
  });

  it('lets an error say explicitly what it is', () => {
    expect(isRetryable(new JuneError('x', { code: 'config_invalid', retryable: true }))).toBe(true);
    expect(isRetryable(new JuneError('x', { code: 'whatever', retryable: false }))).toBe(false);
    expect(isRetryable(new ProviderError('p', 'x', { status: 400, retryable: true }))).toBe(true);
  });
});

describe('describeError', () => {
  it('says what the cause says: the socket error under fetch failed, with its errno code', () => {
    const socket = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const fetchFailed = new TypeError('fetch failed', { cause: socket });
    expect(describeError(fetchFailed)).toBe('fetch failed (connect ECONNREFUSED 127.0.0.1:9)');
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(describeError(Object.assign(new Error('Network request failed'), { error: reset }))).toBe(
      'Network request failed (socket hang up) [ECONNRESET]',
    );
    expect(describeError('plain')).toBe('plain');
  });
});
