import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UploadStore } from './uploads.js';

const tempStore = async () =>
  UploadStore.forDataDir(await fs.mkdtemp(path.join(os.tmpdir(), 'june-uploads-')));

describe('UploadStore', () => {
  it('keeps a recording under a fresh random id until it is removed', async () => {
    const store = await tempStore();
    const a = await store.save(Buffer.from('first'));
    const b = await store.save(Buffer.from('second'));
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect((await store.read(a))?.toString()).toBe('first');
    expect(await fs.readdir(store.dir)).toHaveLength(2); // no temp files left behind
    await store.remove(a);
    expect(await store.read(a)).toBeUndefined();
    expect((await store.read(b))?.toString()).toBe('second');
  });

  it('never reads or deletes outside its folder', async () => {
    const store = await tempStore();
    const outside = path.join(path.dirname(store.dir), 'secret-file-0123456789');
    await fs.writeFile(outside, 'secret');
    for (const id of ['../secret-file-0123456789', '..%2Fsecret', '/etc/passwd', '', 'short']) {
      expect(await store.read(id), id).toBeUndefined();
      await store.remove(id);
    }
    expect(await fs.readFile(outside, 'utf8')).toBe('secret');
  });

  it('sweeps only old files', async () => {
    const store = await tempStore();
    const old = await store.save(Buffer.from('old'));
    const fresh = await store.save(Buffer.from('fresh'));
    const longAgo = new Date(Date.now() - 10 * 24 * 3_600_000);
    await fs.utimes(path.join(store.dir, old), longAgo, longAgo);
    expect(await store.sweep(7 * 24 * 3_600_000)).toBe(1);
    expect(await store.read(old)).toBeUndefined();
    expect(await store.read(fresh)).toBeDefined();
  });
});
