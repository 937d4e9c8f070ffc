/** Credential scrubbing: the shapes every credential has, and the configured values wherever they appear. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { ConfigError } from './errors.js';
import { redact, registerSecrets } from './redact.js';

describe('redact', () => {
  it('scrubs credential shapes whatever their value', () => {
    const cases: Array<[string, string]> = [
      ['headers were {"authorization": "Bearer abc123XYZ789"}', 'Bearer [redacted]'],
      ['Authorization: Basic dXNlcjpwYXNzd29yZA==', 'Basic [redacted]'],
      ['cannot reach http://bob:hunter2@gpu:8000/v1/models', 'http://[redacted]@gpu:8000/v1/models'],
      ['redis://:p4ss@127.0.0.1:6379 refused', 'redis://[redacted]@127.0.0.1:6379 refused'],
      ['GET /v1/models?api_key=abcd1234efgh failed', 'api_key=[redacted] failed'],
      ['{"x-api-key": "k-99887766"}', '"x-api-key": "[redacted]"'],
      ['invalid key sk-proj-AbCdEf0123456789xyz', 'invalid key [redacted]'],
      [
        'POST https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe',
        '/bot[redacted]/getMe',
      ],
    ];
    for (const [text, expected] of cases) expect(redact(text), text).toContain(expected);
    expect(redact('cannot reach http://bob:hunter2@gpu:8000/v1')).not.toContain('hunter2');
  });

  it('leaves ordinary text alone', () => {
    for (const text of [
      'HTTP 500 from http://127.0.0.1:8000/v1/chat/completions: upstream died',
      'Basic authentication is not supported',
      'The API token is not valid.',
      "This model's maximum context length is 4096 tokens",
      'Send "Authorization: Bearer <token>" with a token from JUNE_API_TOKENS.',
    ])
      expect(redact(text)).toBe(text);
  });

  it('scrubs the literal values of configured secrets, plain and percent-encoded', () => {
    registerSecrets(['plain-secret-value', 'we!rd secret/value']);
    expect(redact('the server said: plain-secret-value is wrong')).toBe(
      'the server said: [redacted] is wrong',
    );
    expect(redact('GET /x?k=we!rd%20secret%2Fvalue')).not.toContain('secret%2Fvalue');
    expect(redact('short ab')).toBe('short ab');
  });

  it('learns the secrets of every loaded config, from the options marked secret', () => {
    loadConfig({
      env: {
        JUNE_LLM_API_KEY: 'Zz-config-llm-key',
        JUNE_API_TOKENS: 'usertokenvalue1,admin:admintokenvalue2',
        JUNE_REDIS_URL: 'redis://:redis-pw-0042@127.0.0.1:6379',
      },
    });
    const text = 'keys Zz-config-llm-key usertokenvalue1 admintokenvalue2 and redis-pw-0042 leaked';
    expect(redact(text)).toBe('keys [redacted] [redacted] [redacted] and [redacted] leaked');
  });
});

describe('URL user info in the config', () => {
  it('is refused for HTTP servers, naming the key and never printing the password', () => {
    let error: unknown;
    try {
      loadConfig({ env: { JUNE_LLM_BASE_URL: 'http://june:pa55word-x@gpu:8000/v1' } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe('JUNE_LLM_BASE_URL');
    expect((error as Error).message).toMatch(/not supported.*JUNE_LLM_API_KEY/);
    expect((error as Error).message).not.toContain('pa55word-x');
  });

  it('keeps a Redis password (ioredis sends it)', () => {
    const config = loadConfig({ env: { JUNE_REDIS_URL: 'redis://:abc-redis-secret@127.0.0.1:6379' } });
    expect(config.redisUrl).toBe('redis://:abc-redis-secret@127.0.0.1:6379');
  });
});
