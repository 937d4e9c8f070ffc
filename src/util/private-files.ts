/**
 * Files that hold conversations, reasoning, task payloads and recordings are readable by their owner only,
 * whatever the umask: directories 0700, files 0600. Existing ones are tightened when June opens them, so
 * data written by an older June (0644/0755) stops being world-readable too.
 *
 * SQLite creates a database's -wal and -shm files with the database file's own mode, so a database made
 * private before it is opened keeps its companions private.
 */
import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates the directory (and missing parents) for the owner only, and tightens it if it exists. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  fs.chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Async ensurePrivateDir, for stores that create their folder on first write. */
export async function ensurePrivateDirAsync(dir: string): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await fs.promises.chmod(dir, PRIVATE_DIR_MODE);
}

/**
 * Makes a SQLite database file (and any -wal, -shm or -journal left beside it) private before it is opened;
 * creates an empty file when there is none, which SQLite accepts as a new database. The parent directory
 * is created for the owner only when missing, and left as it is otherwise (it may be shared).
 */
export function preparePrivateDatabase(file: string): void {
  if (file === ':memory:' || file === '') return;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: PRIVATE_DIR_MODE });
  fs.closeSync(fs.openSync(file, 'a', PRIVATE_FILE_MODE));
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    try {
      fs.chmodSync(f, PRIVATE_FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** Tightens a directory that already exists (created by an older June); nothing when it does not. */
export function tightenExistingDir(dir: string): void {
  try {
    fs.chmodSync(dir, PRIVATE_DIR_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
