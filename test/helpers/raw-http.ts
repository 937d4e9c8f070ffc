/**
 * HTTP over a plain TCP socket (node:net), for what fetch and Fastify's inject cannot send: broken framing,
 * a wrong Content-Length, a request that never finishes, many connections from one client.
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses the first HTTP response in `text` (a Content-Length body, or everything after the headers). */
export function parseResponse(text: string): RawResponse | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = text.slice(end + 4);
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  return { status, headers, body: length === undefined ? rest : rest.slice(0, length) };
}

/** One connection: write, read what comes, wait for the server to close. */
export class RawConnection {
  readonly socket: net.Socket;
  received = '';
  readonly closed: Promise<void>;
  private waiters: Array<() => void> = [];

  constructor(port: number, host = '127.0.0.1') {
    this.socket = net.connect(port, host);
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => {
      this.received += d;
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    void this.closed.then(() => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Resolves once something has been received (or the connection closed). */
  async firstData(): Promise<string> {
    while (this.received === '' && !this.socket.destroyed)
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.received;
  }

  /** Resolves when the received text matches (or the connection closed). */
  async until(test: (text: string) => boolean): Promise<string> {
    while (!test(this.received) && !this.socket.destroyed)
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.received;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends `request` on a new connection, half-closes, and returns everything the server sent. */
export async function rawExchange(port: number, request: string | Buffer): Promise<string> {
  const c = new RawConnection(port);
  c.write(request);
  c.socket.end();
  await c.closed;
  return c.received;
}
