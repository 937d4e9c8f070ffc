/**
 * withParking on a real SQLite task queue: an update is tried `maxAttempts` times, then stored as a
 * channel.inbound task and counted as handled; when storing it fails too, the update keeps failing (its
 * platform keeps it) instead of being dropped.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { openSqliteQueue, type SqliteTaskQueue } from '../tasks/sqlite/sqlite-queue.js';
import { CHANNEL_INBOUND_KIND, parkInbound, withParking, type ParkedInbound } from './inbound-task.js';

interface Update {
  id: number;
  chat: string;
}

let dir: string;
let queue: SqliteTaskQueue;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'june-inbound-'));
  queue = await openSqliteQueue({ file: path.join(dir, 'tasks.db') });
});

afterEach(async () => {
  await queue.close().catch(() => undefined);
  await fs.rm(dir, { recursive: true, force: true });
});

function wrap(handle: (u: Update) => Promise<void>, park = parkInbound(queue)) {
  return withParking(handle, {
    channel: 'telegram',
    maxAttempts: 3,
    park,
    updateId: (u) => String(u.id),
    raw: (u) => ({ update: u }),
    target: (u) => ({ channel: 'telegram', chatId: u.chat, userId: u.chat }),
    describe: (err) => String(err),
    logger: createLogger('silent'),
  });
}

describe('withParking', () => {
  it('parks an update on its third failure and counts it as handled; others are unaffected', async () => {
    const seen: number[] = [];
    const handle = wrap(async (u) => {
      seen.push(u.id);
      if (u.id === 7) throw new Error('no such table: tasks');
    });
    const bad = { id: 7, chat: '42' };
    await expect(handle(bad)).rejects.toThrow(/no such table/);
    await handle({ id: 8, chat: '42' });
    await expect(handle(bad)).rejects.toThrow(/no such table/);
    expect(await queue.list()).toEqual([]);
    await handle(bad);
    const [task] = await queue.list();
    expect(task).toMatchObject({ kind: CHANNEL_INBOUND_KIND, idempotencyKey: 'inbound:telegram:7' });
    expect(task!.payload as ParkedInbound).toEqual({
      channel: 'telegram',
      updateId: '7',
      raw: { update: bad },
      error: 'Error: no such table: tasks',
      attempts: 3,
      target: { channel: 'telegram', chatId: '42', userId: '42' },
    });
    expect(seen).toEqual([7, 8, 7, 7]);
  });

  it('keeps failing, and parks nothing, when the parked task cannot be stored either', async () => {
    const handle = wrap(async () => {
      throw new Error('disk I/O error');
    });
    await queue.close();
    for (let i = 0; i < 2; i++) await expect(handle({ id: 1, chat: '1' })).rejects.toThrow(/disk I\/O/);
    // the third failure tries to park; the closed queue refuses, so the update is not counted as handled
    await expect(handle({ id: 1, chat: '1' })).rejects.toThrow();
    await expect(handle({ id: 1, chat: '1' })).rejects.toThrow();
  });
});
