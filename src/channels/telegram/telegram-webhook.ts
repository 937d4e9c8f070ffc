/**
 * Webhook mode: a small HTTP listener that Telegram (through your HTTPS reverse proxy) POSTs updates to.
 * The answer is sent only after the update is durable: 200 once the handler resolved, 500 when it failed,
 * and Telegram keeps re-sending an update until it gets a 2xx. Requests without the secret header that
 * setWebhook registered are refused, so nobody else can inject updates.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Update } from 'grammy/types';
import type { Logger } from '../../observability/logger.js';

/** Local port when the webhook URL names none: Telegram's own choices are 443, 80, 88 and 8443. */
export const DEFAULT_WEBHOOK_PORT = 8443;
const MAX_UPDATE_BYTES = 1024 * 1024;

export interface WebhookListenerOptions {
  host: string;
  port: number;
  /** Only POSTs to this path are accepted (the path of the public webhook URL). */
  path: string;
  secretToken: string;
  handle(update: Update): Promise<void>;
  logger: Logger;
}

export interface WebhookListener {
  port: number;
  close(): Promise<void>;
}

/** A stable secret derived from the bot token, so restarts need not call setWebhook with a new one. */
export function webhookSecret(token: string): string {
  return createHash('sha256').update(`june-telegram-webhook\0${token}`).digest('base64url');
}

/** Where to listen for a public webhook URL: its path, and its port when it names one. */
export function webhookAddress(url: string): { path: string; port: number } {
  const u = new URL(url);
  return { path: u.pathname || '/', port: u.port ? Number(u.port) : DEFAULT_WEBHOOK_PORT };
}

export async function startWebhookListener(options: WebhookListenerOptions): Promise<WebhookListener> {
  const expected = Buffer.from(options.secretToken);
  const server = http.createServer((req, res) => {
    const finish = (status: number) => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end();
    };
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== options.path)
      return finish(404);
    const given = Buffer.from(String(req.headers['x-telegram-bot-api-secret-token'] ?? ''));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return finish(401);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_UPDATE_BYTES) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      let update: Update;
      try {
        update = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Update;
      } catch {
        return finish(400);
      }
      options.handle(update).then(
        () => finish(200),
        (err: unknown) => {
          options.logger.warn(
            { updateId: update.update_id, err: String(err) },
            'could not store a Telegram update',
          );
          finish(500);
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
