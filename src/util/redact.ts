/**
 * Scrubs credentials out of text before it is stored, logged or answered: an error body from a server that
 * echoes our Authorization header, a URL with a password, a token in a query string. Two layers:
 *
 * - shapes every credential has (`Bearer …`, `Basic …`, `user:pass@` in URLs, `api_key=…`, `sk-…` keys,
 *   Telegram's `bot<id>:<secret>` paths), whatever their value;
 * - the literal values of the configured secrets (the options marked secret in the config schema, and the
 *   password of a configured URL), registered by loadConfig, wherever they appear.
 *
 * The process keeps one set of secret values: errors are built deep inside providers, and every place
 * that stores or prints them (task records, logs, API answers) must know the same values.
 */

export const REDACTED = '[redacted]';

/** Values shorter than this are not scrubbed literally (they would match ordinary words). */
const MIN_SECRET_LENGTH = 6;

const secrets = new Set<string>();
let literal: RegExp | undefined;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Adds values to scrub wherever they appear (configured keys, tokens, URL passwords). */
export function registerSecrets(values: Iterable<string | undefined>): void {
  let added = false;
  for (const v of values) {
    if (!v || v.length < MIN_SECRET_LENGTH || secrets.has(v)) continue;
    secrets.add(v);
    // the percent-encoded form is how a secret appears inside a URL
    const encoded = encodeURIComponent(v);
    if (encoded !== v) secrets.add(encoded);
    added = true;
  }
  if (!added) return;
  // longest first, so a value that contains another is scrubbed whole
  const sorted = [...secrets].sort((a, b) => b.length - a.length);
  literal = new RegExp(sorted.map(escape).join('|'), 'g');
}

/** Credential shapes, each replaced keeping its label so the text still says what was there. */
const SHAPES: Array<[RegExp, string]> = [
  // Authorization header values (a credential has a digit or is long; "Basic authentication" is prose)
  [
    /\b(Bearer|Basic)(\s+)(?=[A-Za-z0-9._~+/=-]*\d|[A-Za-z0-9._~+/=-]{20})[A-Za-z0-9._~+/=-]{8,}/gi,
    `$1$2${REDACTED}`,
  ],
  // userinfo in a URL: scheme://user:pass@host or scheme://token@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi, `$1${REDACTED}@`],
  // key=value and "key": "value" for the usual credential names
  [
    /((?:api[_-]?key|access[_-]?token|auth[_-]?token|token|secret|password|passwd|x-api-key|authorization)["']?\s*[:=]\s*["']?)(?!\[redacted\]|(?:Bearer|Basic)\s)[^\s"'&,;}]{4,}/gi,
    `$1${REDACTED}`,
  ],
  // OpenAI-style keys
  [/\bsk-[A-Za-z0-9_-]{12,}/g, REDACTED],
  // Telegram bot tokens in API paths: /bot123456:AA…/
  [/\bbot\d{5,}:[A-Za-z0-9_-]{20,}/g, `bot${REDACTED}`],
];

/** The text with every known secret value and credential shape replaced by [redacted]. */
export function redact(text: string): string {
  let out = literal ? text.replace(literal, REDACTED) : text;
  for (const [shape, replacement] of SHAPES) out = out.replace(shape, replacement);
  return out;
}

/** A URL's password (or lone username, which is how tokens are put in URLs), for registerSecrets. */
export function urlCredentials(url: string | undefined): string[] {
  if (!url) return [];
  try {
    const u = new URL(url);
    return [u.password, u.password ? '' : u.username].filter(Boolean).map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  } catch {
    return [];
  }
}

/** An error's message, scrubbed: what logs and admin answers may show. */
export function redactedMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : typeof err === 'string' ? err : String(err);
  return redact(text);
}
