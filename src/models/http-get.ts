/**
 * A minimal GET over node:http/https that follows redirects and reports network failures with their
 * system error codes intact (ENOTFOUND, ECONNREFUSED, ECONNRESET …), which is what the downloader needs to
 * tell "offline" from "flaky connection". fetch() would hide those codes behind a generic TypeError.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { abortReason } from '../util/abort.js';

export interface GetOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Socket inactivity limit, for connecting as well as between body chunks. */
  timeoutMs: number;
  maxRedirects?: number;
}

export interface GetResponse {
  res: IncomingMessage;
  /** The URL after redirects (Hugging Face sends files from a CDN host). */
  finalUrl: string;
}

/** The socket stayed silent for too long. `phase` says whether the server ever answered. */
export class NetworkTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(
    readonly phase: 'connect' | 'body',
    ms: number,
  ) {
    super(phase === 'connect' ? `no answer within ${ms} ms` : `no data for ${ms} ms`);
    this.name = 'NetworkTimeoutError';
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export async function httpGet(url: string, options: GetOptions): Promise<GetResponse> {
  let current = url;
  for (let hops = 0; ; hops++) {
    const res = await requestOnce(current, options);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || !location) return { res, finalUrl: current };
    res.resume(); // drain the redirect body so the socket can be reused
    if (hops >= (options.maxRedirects ?? 5)) throw new Error(`too many redirects fetching ${url}`);
    current = new URL(location, current).toString();
  }
}

function requestOnce(url: string, options: GetOptions): Promise<IncomingMessage> {
  const { signal, timeoutMs } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const parsed = new URL(url);
    const client = parsed.protocol === 'https:' ? https : http;
    let response: IncomingMessage | undefined;

    const req = client.get(parsed, { headers: { 'user-agent': 'june', ...options.headers } }, (res) => {
      response = res;
      res.once('close', cleanup);
      resolve(res);
    });
    // Before the answer the timeout means "host unreachable"; after it, "connection stalled".
    req.setTimeout(timeoutMs, () => {
      const err = new NetworkTimeoutError(response ? 'body' : 'connect', timeoutMs);
      if (response) response.destroy(err);
      req.destroy(err);
    });
    req.on('error', (err) => {
      cleanup();
      reject(err);
    });

    const onAbort = () => {
      const reason = abortReason(signal!);
      if (response) response.destroy(reason);
      req.destroy(reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    function cleanup() {
      signal?.removeEventListener('abort', onAbort);
    }
  });
}
