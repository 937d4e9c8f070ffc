/**
 * The channel layer's SQLite database (conversations, users, pairing codes, the owner's setup code): one
 * file under JUNE_DATA_DIR, WAL so readers never block the writer, and a schema version to migrate forward.
 */
import path from 'node:path';
import type DatabaseType from 'better-sqlite3';
import Database from 'better-sqlite3';
import { preparePrivateDatabase } from '../../util/private-files.js';

const MIGRATIONS: string[] = [
  `CREATE TABLE conversations (
     key TEXT PRIMARY KEY,
     channel TEXT NOT NULL,
     chat_id TEXT NOT NULL,
     user_id TEXT NOT NULL,
     language TEXT,
     voice_mode TEXT,
     epoch INTEGER NOT NULL DEFAULT 0,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     conv_key TEXT NOT NULL,
     epoch INTEGER NOT NULL,
     role TEXT NOT NULL,
     content TEXT NOT NULL,
     reasoning TEXT,
     task_id TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX messages_by_conv ON messages(conv_key, epoch, id);
   CREATE UNIQUE INDEX messages_once ON messages(task_id, role) WHERE task_id IS NOT NULL;
   CREATE TABLE users (
     channel TEXT NOT NULL,
     user_id TEXT NOT NULL,
     role TEXT NOT NULL,
     name TEXT,
     approved_at INTEGER NOT NULL,
     PRIMARY KEY (channel, user_id)
   );
   CREATE TABLE pairing_codes (
     code TEXT PRIMARY KEY,
     channel TEXT NOT NULL,
     user_id TEXT NOT NULL,
     user_name TEXT,
     chat_id TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX pairing_by_user ON pairing_codes(channel, user_id);`,
  // the owner's setup code, and per stranger: when June last answered them and when their access or
  // pairing request was taken away (the cool-down before they get a pairing slot again)
  `CREATE TABLE access_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE strangers (
     channel TEXT NOT NULL,
     user_id TEXT NOT NULL,
     answered_at INTEGER,
     cooldown_since INTEGER,
     PRIMARY KEY (channel, user_id)
   );`,
  // a conversation's own title (set by renaming it; without one, lists show its first message)
  `ALTER TABLE conversations ADD COLUMN title TEXT;`,
];

export type ChannelDb = DatabaseType.Database;

export function openChannelDb(file: string): ChannelDb {
  // conversations and reasoning: owner-only, whatever the umask
  preparePrivateDatabase(file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}

export function channelDbFile(dataDir: string): string {
  return path.join(dataDir, 'channels.db');
}
