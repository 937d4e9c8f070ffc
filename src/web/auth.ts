/**
 * Who is calling the HTTP API. Bearer tokens come from config.apiTokens; `admin:` marks admin scope.
 * Each token is its own web user (its conversations and tasks), named by a hash of the token so that the
 * token itself is never stored or logged. With no token configured the API is open, which June allows
 * only on a loopback address: there the caller is the local user, with admin scope.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { JuneConfig } from '../config/schema.js';
import { ConfigError } from '../util/errors.js';
import { ApiError } from './errors.js';

export type Scope = 'admin' | 'user';

export interface Caller {
  scope: Scope;
  /** The web user id: "local" in open mode, else derived from the token. */
  userId: string;
}

interface KnownToken {
  digest: Buffer;
  scope: Scope;
  userId: string;
}

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/** "admin:s3cret" → admin scope; anything else → user scope. */
export function parseApiTokens(tokens: readonly string[]): KnownToken[] {
  return tokens.map((raw) => {
    const admin = raw.startsWith('admin:');
    const token = admin ? raw.slice('admin:'.length) : raw;
    if (token.length === 0)
      throw new ConfigError('JUNE_API_TOKENS', 'a token is empty ("admin:" needs a token after it)');
    return {
      digest: digest(token),
      scope: admin ? 'admin' : 'user',
      userId: `t${digest(token).toString('hex').slice(0, 16)}`,
    };
  });
}

/** True for addresses only this machine can reach. 0.0.0.0 and :: are every interface, not loopback. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\./.test(h);
}

/** June refuses to serve an open API to the network. */
export function assertSafeBinding(config: Pick<JuneConfig, 'httpHost' | 'apiTokens'>): void {
  if (config.apiTokens.length === 0 && !isLoopbackHost(config.httpHost)) {
    throw new ConfigError(
      'JUNE_API_TOKENS',
      `the web API would listen on ${config.httpHost}, which other machines can reach, without a token. ` +
        'Set JUNE_API_TOKENS (e.g. admin:<a long random string>) or listen on 127.0.0.1 (JUNE_HTTP_HOST).',
    );
  }
}

export class Authenticator {
  private readonly tokens: KnownToken[];

  constructor(apiTokens: readonly string[]) {
    this.tokens = parseApiTokens(apiTokens);
  }

  /** No token configured: the (loopback-only) API is open to the local user. */
  get open(): boolean {
    return this.tokens.length === 0;
  }

  /** The caller for an Authorization header; throws bad_token when it names no configured token. */
  authenticate(authorization: string | undefined): Caller {
    if (this.open) return { scope: 'admin', userId: 'local' };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m)
      throw new ApiError(
        'bad_token',
        'Send "Authorization: Bearer <token>" with a token from JUNE_API_TOKENS.',
      );
    const presented = digest(m[1]!);
    // compare against every token, without stopping early, so timing tells nothing about which matched
    let found: KnownToken | undefined;
    for (const t of this.tokens) if (timingSafeEqual(t.digest, presented) && !found) found = t;
    if (!found) throw new ApiError('bad_token', 'The API token is not valid.');
    return { scope: found.scope, userId: found.userId };
  }

  /** The caller on a route open to anyone: who the token names, or an anonymous user (no or bad token). */
  identify(authorization: string | undefined): Caller {
    try {
      return this.authenticate(authorization);
    } catch {
      return { scope: 'user', userId: '' };
    }
  }
}

/** Throws forbidden unless the caller has admin scope. */
export function requireAdmin(caller: Caller): void {
  if (caller.scope !== 'admin') throw new ApiError('forbidden', 'This needs an admin token (admin: prefix).');
}

/**
 * Browser protections for the token-less loopback API, where the browser itself is the only credential:
 * a page on another site must not reach it through DNS rebinding (its Host would be that site's name) or
 * post to it across sites (its Origin would be another origin). Token requests need neither: a page
 * elsewhere cannot add the Authorization header without the token.
 */
export function checkBrowserOrigin(
  open: boolean,
  method: string,
  headers: { host?: string | undefined; origin?: string | undefined },
): void {
  if (!open) return;
  const host = headers.host ?? '';
  const hostname = host.replace(/:\d+$/, '');
  if (!isLoopbackHost(hostname))
    throw new ApiError(
      'forbidden',
      'Without an API token, June answers only requests addressed to localhost.',
    );
  if (method !== 'GET' && method !== 'HEAD' && headers.origin !== undefined) {
    if (originHostOf(headers.origin) !== host)
      throw new ApiError('forbidden', 'Requests from other sites are refused.');
  }
}

/** "https://a.example:8443" → "a.example:8443"; "" for "null" and other non-URLs. */
function originHostOf(origin: string): string {
  try {
    return new URL(origin).host;
  } catch {
    return '';
  }
}
