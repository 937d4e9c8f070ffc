/**
 * Server-Sent Events over a hijacked Fastify reply: named events with JSON data, a comment every
 * `heartbeatMs` so proxies and browsers keep the connection, and clean-up when either side goes away.
 * Open streams are tracked so the server can end them when it shuts down.
 */
import type { FastifyReply } from 'fastify';

export interface SseStream {
  send(event: string, data: unknown): void;
  /** Ends the stream (idempotent). */
  close(): void;
  readonly closed: boolean;
  /** Called once when the stream ends, whoever ended it. */
  onClose(fn: () => void): void;
}

export class SseHub {
  private readonly open = new Set<SseStream>();

  constructor(private readonly heartbeatMs: number) {}

  start(reply: FastifyReply): SseStream {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx and similar proxies would otherwise hold events back in their buffers
      'x-accel-buffering': 'no',
    });
    res.write(': june\n\n');
    const listeners: Array<() => void> = [];
    let closed = false;
    const heartbeat = setInterval(() => res.write(': ping\n\n'), this.heartbeatMs);
    heartbeat.unref();
    const stream: SseStream = {
      send(event, data) {
        if (closed) return;
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      },
      close: () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        this.open.delete(stream);
        res.end();
        for (const fn of listeners.splice(0)) fn();
      },
      get closed() {
        return closed;
      },
      onClose(fn) {
        if (closed) fn();
        else listeners.push(fn);
      },
    };
    this.open.add(stream);
    // 'close' comes when the client goes away (or after our own end)
    res.once('close', () => stream.close());
    return stream;
  }

  closeAll(): void {
    for (const s of [...this.open]) s.close();
  }
}
