/**
 * Reply audio kept on disk (JUNE_DATA_DIR/audio/<id>.<format>) so that a re-run task can re-send it and
 * the web page can fetch it. Ids are task ids; anything else is refused, so no path can escape the folder.
 * The folder is the owner's only (0700, files 0600).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDirAsync, PRIVATE_FILE_MODE, tightenExistingDir } from '../util/private-files.js';

const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;
export type StoredFormat = 'ogg' | 'mp3' | 'wav';

export class AudioStore {
  constructor(readonly dir: string) {
    tightenExistingDir(dir);
  }

  private file(id: string, format: StoredFormat): string {
    if (!SAFE_ID.test(id)) throw new Error(`invalid audio id "${id.slice(0, 40)}"`);
    return path.join(this.dir, `${id}.${format}`);
  }

  async save(id: string, data: Buffer, format: StoredFormat = 'ogg'): Promise<string> {
    await ensurePrivateDirAsync(this.dir);
    const file = this.file(id, format);
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.writeFile(tmp, data, { mode: PRIVATE_FILE_MODE });
    await fs.rename(tmp, file);
    return id;
  }

  /** The stored bytes, or undefined when there is no such audio (or the id is not a valid one). */
  async read(id: string, format: StoredFormat = 'ogg'): Promise<Buffer | undefined> {
    if (!SAFE_ID.test(id)) return undefined;
    return fs.readFile(this.file(id, format)).catch(() => undefined);
  }
}
