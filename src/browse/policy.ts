/**
 * Which URLs the browser may load. Every request Chromium makes (the model's navigations, redirects,
 * navigations the page starts itself, subresources) passes through `checkUrl`, so one rule decides:
 * only http(s); no host on the blocklist; only hosts on the allowlist when there is one; and no localhost
 * or private-network address unless allowed. The answer is a sentence the model and the result notes can
 * show as it is.
 *
 * Private addresses are recognised when the URL names them (localhost, literal IPs); a public name that
 * resolves to a private address is not caught here (no DNS lookup per request).
 */
import net from 'node:net';

export interface UrlPolicy {
  blockedHosts: readonly string[];
  allowedHosts: readonly string[];
  allowPrivate: boolean;
}

export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

/** Whether `host` is `name` or one of its subdomains. */
function hostMatches(host: string, name: string): boolean {
  const n = name.toLowerCase().replace(/^\*?\./, '');
  return host === n || host.endsWith(`.${n}`);
}

function isPrivateV4(ip: string): boolean {
  const [a = 0, b = 0] = ip.split('.').map(Number);
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168)
  );
}

/** localhost and private, loopback, link-local and unspecified addresses given literally. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (net.isIPv4(host)) return isPrivateV4(host);
  if (net.isIPv6(host)) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    if (mapped?.[1]) return isPrivateV4(mapped[1]);
    return host === '::1' || host === '::' || /^f[cd]/.test(host) || /^fe[89ab]/.test(host);
  }
  return false;
}

export function checkUrl(raw: string, policy: UrlPolicy): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: `"${raw.slice(0, 200)}" is not a valid URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return {
      ok: false,
      reason: `blocked: only http and https pages may be opened, not ${url.protocol}// (${raw.slice(0, 100)})`,
    };
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (policy.blockedHosts.some((h) => hostMatches(host, h)))
    return { ok: false, reason: `blocked: the host ${host} is on the blocklist (JUNE_BROWSE_BLOCKED_HOSTS)` };
  if (policy.allowedHosts.length > 0 && !policy.allowedHosts.some((h) => hostMatches(host, h)))
    return {
      ok: false,
      reason: `blocked: the host ${host} is not on the allowlist (JUNE_BROWSE_ALLOWED_HOSTS: ${policy.allowedHosts.join(', ')})`,
    };
  if (!policy.allowPrivate && isPrivateHost(host))
    return {
      ok: false,
      reason: `blocked: ${host} is a local or private-network address (JUNE_BROWSE_ALLOW_PRIVATE is off)`,
    };
  return { ok: true, url };
}
