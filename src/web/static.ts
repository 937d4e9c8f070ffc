/**
 * The web page: plain files from ./public next to this module (copied into dist by the build), served at /
 * and /app/<name>. Only the names found in that folder at start are served, so no path can escape it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorBody } from './errors.js';

export const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
};

/** The page loads nothing from elsewhere; replies play from blob: URLs made from authorised fetches. */
const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "style-src 'self'",
  "script-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export function registerStatic(app: FastifyInstance, dir = PUBLIC_DIR): void {
  const files = new Map<string, string>();
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (TYPES[path.extname(name)] && fs.statSync(path.join(dir, name)).isFile())
      files.set(name, path.join(dir, name));
  }
  const send = async (name: string, reply: FastifyReply) => {
    const file = files.get(name);
    if (!file) return reply.status(404).send(errorBody('not_found', `No file ${name}.`));
    return reply
      .header('content-type', TYPES[path.extname(name)]!)
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(await fs.promises.readFile(file));
  };
  app.get('/', (_req, reply) => send('index.html', reply));
  app.get<{ Params: { name: string } }>('/app/:name', (req, reply) => send(req.params.name, reply));
}
