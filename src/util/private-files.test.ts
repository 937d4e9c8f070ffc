/**
 * The stores that hold users' data create owner-only files and folders under umask 022, and tighten the
 * ones an older June left readable to everyone. Real SQLite (WAL) databases and real writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/helpers/speech-fixtures.js';
import { AudioStore } from '../channels/audio-store.js';
import { channelDbFile, openChannelDb } from '../channels/store/db.js';
import { openSqliteQueue } from '../tasks/sqlite/sqlite-queue.js';
import { UploadStore } from '../web/uploads.js';

const mode = (p: string) => fs.statSync(p).mode & 0o777;
let previousUmask: number;

beforeAll(() => {
  previousUmask = process.umask(0o022);
});
afterAll(() => {
  process.umask(previousUmask);
});

async function useStores(dataDir: string): Promise<void> {
  const queue = await openSqliteQueue({ file: path.join(dataDir, 'tasks.db') });
  await queue.enqueue({ capability: 'chat', kind: 'chat.message', payload: { text: 'private words' } });
  const channels = openChannelDb(channelDbFile(dataDir));
  channels.prepare('PRAGMA wal_checkpoint(PASSIVE)').run();
  // the -wal and -shm files exist while the databases are open
  for (const db of ['tasks.db', 'channels.db'])
    for (const suffix of ['', '-wal', '-shm']) {
      const f = path.join(dataDir, db + suffix);
      expect(fs.existsSync(f), f).toBe(true);
      expect(mode(f), f).toBe(0o600);
    }
  await new AudioStore(path.join(dataDir, 'audio')).save('task-1', Buffer.from('ogg bytes'));
  const uploads = UploadStore.forDataDir(dataDir);
  const id = await uploads.save(Buffer.from('voice note'));
  expect(mode(path.join(dataDir, 'uploads', id))).toBe(0o600);
  expect(mode(path.join(dataDir, 'audio', 'task-1.ogg'))).toBe(0o600);
  channels.close();
  await queue.close();
}

describe('private files', () => {
  it('creates the databases 0600 and the audio and upload folders 0700 under umask 022', async () => {
    const dataDir = path.join(await makeTempDir('june-perm-'), 'data');
    await useStores(dataDir);
    expect(mode(path.join(dataDir, 'tasks.db'))).toBe(0o600);
    expect(mode(path.join(dataDir, 'channels.db'))).toBe(0o600);
    expect(mode(path.join(dataDir, 'uploads'))).toBe(0o700);
    expect(mode(path.join(dataDir, 'audio'))).toBe(0o700);
    expect(mode(dataDir)).toBe(0o700);
  });

  it('tightens files and folders an older June left readable', async () => {
    const dataDir = await makeTempDir('june-perm-old-');
    for (const d of ['uploads', 'audio']) fs.mkdirSync(path.join(dataDir, d), { mode: 0o755 });
    for (const f of ['tasks.db', 'tasks.db-wal', 'tasks.db-shm', 'channels.db', 'channels.db-wal'])
      fs.writeFileSync(path.join(dataDir, f), '', { mode: 0o644 });
    expect(mode(path.join(dataDir, 'tasks.db'))).toBe(0o644);
    // the folders are fixed as soon as the stores are made, before anything is written
    new AudioStore(path.join(dataDir, 'audio'));
    UploadStore.forDataDir(dataDir);
    expect(mode(path.join(dataDir, 'uploads'))).toBe(0o700);
    expect(mode(path.join(dataDir, 'audio'))).toBe(0o700);
    await useStores(dataDir);
  });
});
