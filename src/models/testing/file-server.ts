/**
 * A real HTTP file server for the model download tests: serves in-memory files with Range support and can
 * misbehave on purpose (ignore Range, cut the connection halfway, crawl, answer with error statuses,
 * redirect). Every request is recorded so tests can check what the client actually sent.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  path: string;
  range: string | undefined;
}

export interface ServerBehaviour {
  /** Answer every request with 200 and the whole file, as servers without Range support do. */
  ignoreRange?: boolean;
  /** On the first request for each file, send half the body and then destroy the socket. */
  cutFirstRequestHalfway?: boolean;
  /** Send at most this many bytes per second (in 16 KiB chunks). */
  throttleBytesPerSec?: number;
  /** On the first request for each file, go silent for this long after the first 16 KiB. */
  stallFirstRequestMs?: number;
  /** Statuses answered (with no body) to the next requests, one per request, before serving normally. */
  failWith?: number[];
}

export interface FileServer {
  url: string;
  requests: RecordedRequest[];
  behaviour: ServerBehaviour;
  /** Serves `data` at `urlPath`. */
  add(urlPath: string, data: Buffer): void;
  /** A 302 from `from` to `to` (a path on this server). */
  redirect(from: string, to: string): void;
  close(): Promise<void>;
}

export function randomFile(bytes: number): Buffer {
  return randomBytes(bytes);
}

export async function startFileServer(behaviour: ServerBehaviour = {}): Promise<FileServer> {
  const files = new Map<string, Buffer>();
  const redirects = new Map<string, string>();
  const servedOnce = new Set<string>();
  const requests: RecordedRequest[] = [];
  const state: FileServer = {
    url: '',
    requests,
    behaviour,
    add: (p, data) => void files.set(p, data),
    redirect: (from, to) => void redirects.set(from, to),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const server = http.createServer((req, res) => {
    const urlPath = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ path: urlPath, range: req.headers.range });
    const status = state.behaviour.failWith?.shift();
    if (status !== undefined) return void res.writeHead(status).end();
    const target = redirects.get(urlPath);
    if (target) return void res.writeHead(302, { location: target }).end();
    const data = files.get(urlPath);
    if (!data) return void res.writeHead(404).end('not found');

    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && !state.behaviour.ignoreRange) {
      const start = Number(range[1]);
      if (start >= data.length)
        return void res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
      const end = range[2] ? Math.min(Number(range[2]), data.length - 1) : data.length - 1;
      res.writeHead(206, {
        'content-length': end - start + 1,
        'content-range': `bytes ${start}-${end}/${data.length}`,
        'accept-ranges': 'bytes',
      });
      return send(res, data.subarray(start, end + 1), urlPath);
    }
    res.writeHead(200, { 'content-length': data.length, 'accept-ranges': 'bytes' });
    send(res, data, urlPath);
  });

  function send(res: http.ServerResponse, body: Buffer, urlPath: string): void {
    const first = !servedOnce.has(urlPath);
    servedOnce.add(urlPath);
    const cut = state.behaviour.cutFirstRequestHalfway && first;
    const stall = first ? state.behaviour.stallFirstRequestMs : undefined;
    const limit = cut ? Math.floor(body.length / 2) : body.length;
    const rate = state.behaviour.throttleBytesPerSec;
    const chunk = 16 * 1024;
    let sent = 0;
    const next = () => {
      if (res.destroyed) return;
      if (sent >= limit) {
        if (cut)
          res.socket?.end(); // flush what was written, then close: the client sees a short body
        else res.end();
        return;
      }
      const piece = body.subarray(sent, Math.min(limit, sent + chunk));
      sent += piece.length;
      res.write(piece, () => {
        if (stall && sent === piece.length) setTimeout(next, stall);
        else if (rate) setTimeout(next, (piece.length / rate) * 1000);
        else next();
      });
    };
    next();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** A port nothing listens on: bound, noted, closed. Connecting to it is refused. */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
