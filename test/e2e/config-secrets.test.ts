/**
 * The CLI as a user runs it: secret options and URL passwords are never printed, by `june config` or in
 * the one-line reason of a failed command.
 */
import { describe, expect, it } from 'vitest';
import { CHAT_PATH, startFakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { execJune } from '../helpers/june-cli.js';
import { makeTempDir } from '../helpers/speech-fixtures.js';

const run = async (args: string[], env: Record<string, string>) =>
  execJune(args, {
    cwd: await makeTempDir('june-config-'),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
  });

describe('june config', () => {
  it('redacts every secret option and the password of a URL', async () => {
    const env = {
      JUNE_LLM_API_KEY: 'llm-key-0123456789',
      JUNE_TELEGRAM_TOKEN: '123456789:telegram-secret-token-value',
      JUNE_API_TOKENS: 'api-user-token-1,admin:api-admin-token-2',
      JUNE_REDIS_URL: 'redis://:redis-password-42@127.0.0.1:6379',
    };
    for (const args of [['config'], ['config', '--json']]) {
      const out = await run(args, env);
      expect(out.code, out.stderr).toBe(0);
      for (const secret of Object.values(env).flatMap((v) => [v, ...v.split(/[,:@]/)]))
        if (secret.length >= 8 && !/^(redis|127|6379|admin)/.test(secret))
          expect(out.stdout, `${args.join(' ')}: ${secret}`).not.toContain(secret);
      expect(out.stdout).toContain('redis://:[redacted]@127.0.0.1:6379');
    }
  });

  it('refuses a user name and password in an HTTP server URL, with a config error', async () => {
    const out = await run(['config'], { JUNE_LLM_BASE_URL: 'http://june:url-password-77@gpu:8000/v1' });
    expect(out.code).toBe(78);
    expect(out.stderr).toMatch(/JUNE_LLM_BASE_URL.*not supported.*JUNE_LLM_API_KEY/);
    expect(out.stderr + out.stdout).not.toContain('url-password-77');
  });

  it('keeps the API key out of the reason a failed command prints, even when the server echoes it', async () => {
    const key = 'sk-cli-echo-key-0123456789abcdef';
    const llm = await startFakeOpenAiServer();
    // a server (or proxy) that puts the request's headers into its error body
    llm.route(CHAT_PATH, (req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { message: `bad request; authorization was ${req.headers.authorization}` } }),
      );
    });
    try {
      const out = await run(['ask', 'hello'], {
        JUNE_LLM_BASE_URL: llm.url,
        JUNE_LLM_API_KEY: key,
        JUNE_LLM_MODEL: 'june-test-model',
        JUNE_LOG_LEVEL: 'debug',
      });
      expect(out.code).not.toBe(0);
      expect(out.stderr).toMatch(/^june: /m);
      expect(out.stderr + out.stdout).not.toContain(key);
    } finally {
      await llm.close();
    }
  });
});
