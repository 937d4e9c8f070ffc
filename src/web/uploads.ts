/**
 * Recordings sent to the web API, kept under JUNE_DATA_DIR/uploads/<id> until their task is done. A file is
 * written and flushed BEFORE its task is enqueued, so a task never points at audio that a crash lost; any
 * worker sharing the data directory can read it. Ids are random and checked, so no path can escape. The
 * folder is the owner's only (0700, files 0600).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDirAsync, PRIVATE_FILE_MODE, tightenExistingDir } from '../util/private-files.js';

const SAFE_ID = /^[A-Za-z0-9_-]{16,64}$/;

export class UploadStore {
  constructor(readonly dir: string) {
    tightenExistingDir(dir);
  }

  static forDataDir(dataDir: string): UploadStore {
    return new UploadStore(path.join(dataDir, 'uploads'));
  }

  private file(id: string): string | undefined {
    return SAFE_ID.test(id) ? path.join(this.dir, id) : undefined;
  }

  /** Stores the bytes durably (fsync, then rename) and returns the new upload id. */
  async save(data: Buffer): Promise<string> {
    await ensurePrivateDirAsync(this.dir);
    const id = randomBytes(18).toString('base64url');
    const file = this.file(id)!;
    const tmp = `${file}.tmp`;
    const handle = await fs.open(tmp, 'w', PRIVATE_FILE_MODE);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
    return id;
  }

  /** The stored bytes, or undefined for an unknown (or invalid) id. */
  async read(id: string): Promise<Buffer | undefined> {
    const file = this.file(id);
    return file ? fs.readFile(file).catch(() => undefined) : undefined;
  }

  async remove(id: string): Promise<void> {
    const file = this.file(id);
    if (file) await fs.rm(file, { force: true });
  }

  /** Deletes uploads older than `maxAgeMs` (their tasks finished long ago, or were never enqueued). */
  async sweep(maxAgeMs: number, now = Date.now()): Promise<number> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      const file = path.join(this.dir, name);
      const stat = await fs.stat(file).catch(() => undefined);
      if (stat?.isFile() && now - stat.mtimeMs > maxAgeMs) {
        await fs.rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }
}
