/**
 * The web page: plain files from ./public next to this module (copied into dist by the build), served at /
 * and /app/<name>. Only the names found in that folder at start are served, so no path can escape it.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorBody } from './errors.js';

export const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
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

/**
 * Libraries the page imports, served as the pinned packages ship them (no CDN, no build step): Markdown
 * rendering and the sanitiser it goes through. Found through the packages' own entry points.
 */
const VENDOR: Array<[name: string, pkg: string, file: string]> = [
  ['marked.esm.js', 'marked', 'marked.esm.js'],
  ['purify.es.mjs', 'dompurify', 'purify.es.mjs'],
];

function vendorFiles(): Map<string, string> {
  const require = createRequire(import.meta.url);
  const out = new Map<string, string>();
  for (const [name, pkg, file] of VENDOR) {
    try {
      const at = path.join(path.dirname(require.resolve(pkg)), file);
      if (fs.existsSync(at)) out.set(name, at);
    } catch {
      // not installed: the page falls back to plain text for answers
    }
  }
  return out;
}

export function registerStatic(app: FastifyInstance, dir = PUBLIC_DIR): void {
  const files = vendorFiles();
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
