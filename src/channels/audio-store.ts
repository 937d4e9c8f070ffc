/**
 * Reply audio kept on disk (JUNE_DATA_DIR/audio/<id>.<format>) so that a re-run task can re-send it and
 * the web page can fetch it. Ids are task ids (a web reply's sentence clips are `<taskId>_s<n>`); anything
 * else is refused, so no path can escape the folder. The folder is the owner's only (0700, files 0600).
 *
 * A task's audio is kept as long as the task history keeps the task (the audio routes need the task to
 * know whose it is): `sweep` removes a task's reply and its sentence clips together once the newest of
 * them is older than that.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDirAsync, PRIVATE_FILE_MODE, tightenExistingDir } from '../util/private-files.js';

const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** How long a task's audio is kept: as long as the task queue keeps finished tasks (7 days). */
export const AUDIO_RETENTION_MS = 7 * 24 * 3_600_000;
/** `<id>.<format>`, `<id>_s<n>.<format>`, or a write's leftover `….<pid>.tmp`: the task id is group 1. */
const STORED_NAME = /^([A-Za-z0-9_-]+?)(?:_s\d+)?\.(?:ogg|mp3|wav)(?:\.\d+\.tmp)?$/;
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

  /**
   * Removes the audio of every task whose newest file (its reply, its sentence clips) is older than
   * `maxAgeMs`, all of a task's files together. Answers how many files went.
   */
  async sweep(maxAgeMs: number, now = Date.now()): Promise<number> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const tasks = new Map<string, { files: string[]; newest: number }>();
    for (const name of names) {
      const id = STORED_NAME.exec(name)?.[1];
      if (!id) continue;
      const file = path.join(this.dir, name);
      const stat = await fs.stat(file).catch(() => undefined);
      if (!stat?.isFile()) continue;
      const t = tasks.get(id) ?? { files: [], newest: 0 };
      t.files.push(file);
      t.newest = Math.max(t.newest, stat.mtimeMs);
      tasks.set(id, t);
    }
    let removed = 0;
    for (const t of tasks.values()) {
      if (now - t.newest <= maxAgeMs) continue;
      for (const file of t.files) {
        await fs.rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  /** The stored bytes, or undefined when there is no such audio (or the id is not a valid one). */
  async read(id: string, format: StoredFormat = 'ogg'): Promise<Buffer | undefined> {
    if (!SAFE_ID.test(id)) return undefined;
    return fs.readFile(this.file(id, format)).catch(() => undefined);
  }
}
