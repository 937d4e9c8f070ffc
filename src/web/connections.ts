/**
 * The HTTP server below the routes: what a client that is slow, greedy or not speaking HTTP gets.
 *
 * - Time limits: the headers within httpHeadersTimeoutMs, the whole request within httpRequestTimeoutMs
 *   (an upload of audioMaxBytes on a slow link must fit); then 408 and the connection is closed.
 *   Responses are not limited: event streams stay open as long as the client reads them.
 * - At most httpMaxConnectionsPerClient open connections per client address; more are answered 429 and
 *   closed at once, so one client cannot hold the server's sockets with slow bodies.
 * - Requests Node's HTTP parser refuses (broken framing, a Content-Length that does not match, headers
 *   over 16 KB) get the API's error body, like every other error, instead of Fastify's.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { errorBody, formatBytes, type ApiErrorCode } from './errors.js';

type Limits = Pick<
  JuneConfig,
  'httpHeadersTimeoutMs' | 'httpRequestTimeoutMs' | 'httpMaxConnectionsPerClient'
>;

/** Fastify options for the time limits. Node checks them every `connectionsCheckingInterval`. */
export function timeoutOptions(limits: Limits): {
  requestTimeout: number;
  http: { headersTimeout: number; connectionsCheckingInterval: number };
} {
  const request = limits.httpRequestTimeoutMs;
  // Node refuses a headers limit above the request limit; 0 means none
  const headers = request > 0 ? Math.min(limits.httpHeadersTimeoutMs, request) : limits.httpHeadersTimeoutMs;
  const shortest = Math.min(...[headers, request].filter((n) => n > 0), 60_000);
  return {
    requestTimeout: request,
    http: {
      headersTimeout: headers,
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(shortest / 4))),
    },
  };
}

/** Writes a whole HTTP response with the API's error body on a raw socket, then closes it. */
function refuse(socket: Socket, status: number, code: ApiErrorCode, message: string): void {
  if (socket.writable) {
    const body = JSON.stringify(errorBody(code, message));
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy();
}

/** Fastify's clientErrorHandler: errors raised before a request reaches the routes. */
export function clientErrorHandler(limits: Limits, logger: Logger) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const remote = socket.remoteAddress;
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      logger.info({ remote }, 'request not received in time: connection closed');
      refuse(
        socket,
        408,
        'request_timeout',
        `The request was not received in time (headers within ${limits.httpHeadersTimeoutMs} ms, ` +
          `the whole request within ${limits.httpRequestTimeoutMs} ms).`,
      );
      return;
    }
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      logger.info({ remote }, 'request headers too large');
      refuse(
        socket,
        431,
        'headers_too_large',
        `The request headers are too large (the limit is ${formatBytes(http.maxHeaderSize)}).`,
      );
      return;
    }
    logger.info({ remote, code: err.code }, 'request is not valid HTTP');
    refuse(
      socket,
      400,
      'invalid_request',
      'The request is not valid HTTP (check the request line, the headers and that Content-Length matches the body).',
    );
  };
}

/** Refuses connections beyond the per-address cap (0 = no cap). */
export function limitConnectionsPerClient(server: http.Server, limits: Limits, logger: Logger): void {
  const cap = limits.httpMaxConnectionsPerClient;
  if (cap <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const count = (open.get(address) ?? 0) + 1;
    if (count > cap) {
      logger.warn({ remote: address, cap }, 'too many connections from one client: refused');
      refuse(
        socket,
        429,
        'too_many_connections',
        `Too many open connections from your address (the limit is ${cap}).`,
      );
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}
