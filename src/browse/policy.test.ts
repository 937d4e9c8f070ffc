/** The browser's URL policy: schemes, host block/allow lists with subdomains, private addresses. */
import { describe, expect, it } from 'vitest';
import { checkUrl, isPrivateHost } from './policy.js';

const open = { blockedHosts: [], allowedHosts: [], allowPrivate: false };

describe('browse URL policy', () => {
  it('allows only http and https', () => {
    expect(checkUrl('https://example.org/a', open).ok).toBe(true);
    for (const url of [
      'file:///etc/passwd',
      'ftp://example.org/',
      'javascript:alert(1)',
      'chrome://settings',
    ])
      expect(checkUrl(url, open)).toEqual({
        ok: false,
        reason: expect.stringMatching(/only http and https/),
      });
    expect(checkUrl('not a url', open)).toEqual({
      ok: false,
      reason: expect.stringMatching(/not a valid URL/),
    });
  });

  it('blocks listed hosts and their subdomains, and keeps to the allowlist when there is one', () => {
    const policy = { ...open, blockedHosts: ['ads.example'] };
    expect(checkUrl('https://ads.example/x', policy).ok).toBe(false);
    expect(checkUrl('https://cdn.ads.example/x', policy).ok).toBe(false);
    expect(checkUrl('https://badads.example/x', policy).ok).toBe(true);
    const allow = { ...open, allowedHosts: ['wikipedia.org'] };
    expect(checkUrl('https://en.wikipedia.org/wiki/Otter', allow).ok).toBe(true);
    expect(checkUrl('https://example.org/', allow)).toEqual({
      ok: false,
      reason: expect.stringMatching(/not on the allowlist/),
    });
  });

  it('knows local and private addresses given literally', () => {
    for (const h of [
      'localhost',
      'a.localhost',
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '[::1]',
      '[fd00::1]',
      '[::ffff:127.0.0.1]',
      '0.0.0.0',
    ])
      expect(isPrivateHost(h), h).toBe(true);
    for (const h of ['example.org', '8.8.8.8', '172.32.0.1', '[2001:db8::1]'])
      expect(isPrivateHost(h), h).toBe(false);
    expect(checkUrl('http://169.254.169.254/latest/meta-data', open).ok).toBe(false);
    expect(checkUrl('http://127.0.0.1:8080/', { ...open, allowPrivate: true }).ok).toBe(true);
  });
});
