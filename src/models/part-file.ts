/**
 * Low-level helpers for the `.part` file a download writes into, and for the HTTP headers that say which
 * bytes of the file a response carries.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { IncompleteBodyError } from './failures.js';

/** Size of `file`, 0 when it does not exist. */
export async function fileSize(file: string): Promise<number> {
  try {
    return (await fsp.stat(file)).size;
  } catch {
    return 0;
  }
}

/** Bytes the current user may still write in `dir`; undefined where the platform cannot tell. */
export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await fsp.statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/**
 * Copies the body into the file. Unlike stream.pipeline, a broken body still lets the bytes already received
 * reach the disk (the file is ended, not destroyed), so the next attempt resumes from all of them.
 */
export function streamToFile(
  source: Readable,
  file: string,
  flags: 'a' | 'w',
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = fs.createWriteStream(file, { flags });
    let ended = false;
    let failure: unknown;
    const stop = (err: unknown) => {
      if (ended) return;
      ended = true;
      failure = err;
      out.end();
    };
    source.on('data', (chunk: Buffer) => {
      onChunk(chunk);
      if (!out.write(chunk)) {
        source.pause();
        out.once('drain', () => source.resume());
      }
    });
    source.once('end', () => stop(undefined));
    source.once('error', stop);
    source.once('close', () => stop(new IncompleteBodyError('connection closed before the end of the file')));
    out.once('finish', () => (failure === undefined ? resolve() : reject(failure)));
    out.once('error', (err) => {
      source.destroy();
      reject(err);
    });
  });
}

/** Flushes the file to disk, so a crash right after a rename cannot leave a complete-looking empty file. */
export async function syncFile(file: string): Promise<void> {
  const handle = await fsp.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function headerInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** "bytes 100-199/1000" → {start: 100, total: 1000}; "bytes *\/1000" → {start: undefined, total: 1000}. */
export function parseContentRange(value: string | undefined): { start?: number; total?: number } | undefined {
  const m = /^bytes (?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (!m) return undefined;
  return {
    start: m[1] === undefined ? undefined : Number(m[1]),
    total: m[2] === '*' || m[2] === undefined ? undefined : Number(m[2]),
  };
}
