import { describe, expect, it } from 'vitest';
import { ConfigError } from '../util/errors.js';
import { assertSafeBinding, Authenticator, checkBrowserOrigin, isLoopbackHost } from './auth.js';
import { ApiError } from './errors.js';

describe('API tokens', () => {
  const auth = new Authenticator(['alice-token', 'admin:root-token', 'bob-token']);

  it('tells user and admin tokens apart, and gives each token its own stable user id', () => {
    const alice = auth.authenticate('Bearer alice-token');
    const bob = auth.authenticate('bearer bob-token');
    const root = auth.authenticate('Bearer root-token');
    expect(alice.scope).toBe('user');
    expect(root.scope).toBe('admin');
    expect(alice.userId).toMatch(/^t[0-9a-f]{16}$/);
    expect(new Set([alice.userId, bob.userId, root.userId]).size).toBe(3);
    expect(new Authenticator(['alice-token']).authenticate('Bearer alice-token').userId).toBe(alice.userId);
    // the id says nothing about the token
    expect(alice.userId).not.toContain('alice');
  });

  it('refuses missing, malformed and unknown tokens with bad_token', () => {
    for (const header of [
      undefined,
      '',
      'alice-token',
      'Basic alice-token',
      'Bearer',
      'Bearer admin:root-token',
      'Bearer alice-token2',
    ]) {
      let err: unknown;
      try {
        auth.authenticate(header);
      } catch (e) {
        err = e;
      }
      expect(err, String(header)).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe('bad_token');
      expect((err as ApiError).status).toBe(401);
    }
  });

  it('is open to the local user, as admin, when no token is configured', () => {
    const open = new Authenticator([]);
    expect(open.open).toBe(true);
    expect(open.authenticate(undefined)).toEqual({ scope: 'admin', userId: 'local' });
  });

  it('rejects an empty admin token in the config', () => {
    expect(() => new Authenticator(['admin:'])).toThrow(ConfigError);
  });
});

describe('binding', () => {
  it('knows loopback addresses from addresses other machines reach', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'june.example.com', '128.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(false);
  });

  it('refuses an open API on a reachable address, naming JUNE_API_TOKENS', () => {
    expect(() => assertSafeBinding({ httpHost: '0.0.0.0', apiTokens: [] })).toThrow(/JUNE_API_TOKENS/);
    expect(() => assertSafeBinding({ httpHost: '0.0.0.0', apiTokens: ['t'] })).not.toThrow();
    expect(() => assertSafeBinding({ httpHost: '127.0.0.1', apiTokens: [] })).not.toThrow();
  });
});

describe('the token-less loopback API in a browser', () => {
  const check = (method: string, host: string | undefined, origin?: string) => () =>
    checkBrowserOrigin(true, method, { host, ...(origin ? { origin } : {}) });

  it('answers requests addressed to localhost from its own page', () => {
    expect(check('GET', '127.0.0.1:7117')).not.toThrow();
    expect(check('GET', 'localhost:7117')).not.toThrow();
    expect(check('GET', '[::1]:7117')).not.toThrow();
    expect(check('POST', '127.0.0.1:7117', 'http://127.0.0.1:7117')).not.toThrow();
    expect(check('POST', '127.0.0.1:7117')).not.toThrow(); // curl sends no Origin
  });

  it('refuses DNS rebinding and posts from other sites', () => {
    expect(check('GET', 'evil.example:7117')).toThrow(/localhost/);
    expect(check('GET', undefined)).toThrow(ApiError);
    expect(check('POST', '127.0.0.1:7117', 'https://evil.example')).toThrow(/other sites/);
    expect(check('POST', '127.0.0.1:7117', 'http://127.0.0.1:9999')).toThrow(/other sites/);
    expect(check('POST', '127.0.0.1:7117', 'null')).toThrow(/other sites/);
  });

  it('leaves token-protected servers to the token', () => {
    expect(() =>
      checkBrowserOrigin(false, 'POST', { host: 'june.example', origin: 'https://x.example' }),
    ).not.toThrow();
  });
});
