import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { describeTaskQueueBehaviour } from '../testing/behaviour.js';
import { openSqliteQueue } from './sqlite-queue.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-sqlite-queue-'));
let n = 0;
const open = (extra = {}) =>
  openSqliteQueue({
    file: path.join(dir, `q${++n}.db`),
    leaseMs: 200,
    retryBaseMs: 50,
    maxAttempts: 3,
    ...extra,
  });

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describeTaskQueueBehaviour('sqlite', { open, leaseMs: 200 });

describe('sqlite queue specifics', () => {
  it('keeps tasks across a reopen of the same file', async () => {
    const file = path.join(dir, 'reopen.db');
    const a = await openSqliteQueue({ file });
    const id = await a.enqueue({ kind: 'echo', capability: 'chat', payload: 'kept' });
    await a.close();
    const b = await openSqliteQueue({ file });
    const lease = await b.claim(['chat'], 'w');
    expect(lease?.task).toMatchObject({ id, payload: 'kept' });
    await b.close();
  });

  it('upgrades a task file made before tasks carried a traceparent, keeping its tasks', async () => {
    const file = path.join(dir, 'v1.db');
    const a = await openSqliteQueue({ file });
    const old = await a.enqueue({ kind: 'echo', capability: 'chat', payload: 'from v1' });
    await a.close();
    // the file as the previous schema (v1) left it: no traceparent column
    const raw = new Database(file);
    raw.exec('ALTER TABLE tasks DROP COLUMN traceparent');
    raw.pragma('user_version = 1');
    raw.close();
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const b = await openSqliteQueue({ file });
    const traced = await b.enqueue({ kind: 'echo', capability: 'chat', payload: 'new', traceparent: tp });
    expect((await b.claim(['chat'], 'w'))?.task).toMatchObject({ id: old, payload: 'from v1' });
    expect((await b.claim(['chat'], 'w'))?.task).toMatchObject({ id: traced, traceparent: tp });
    await b.close();
  });

  it('lets two connections share the file without double claims', async () => {
    const file = path.join(dir, 'shared.db');
    const a = await openSqliteQueue({ file });
    const b = await openSqliteQueue({ file });
    for (let i = 0; i < 50; i++) await a.enqueue({ kind: 'echo', capability: 'chat', payload: i });
    const claimed: string[] = [];
    for (;;) {
      const [la, lb] = [await a.claim(['chat'], 'a'), await b.claim(['chat'], 'b')];
      if (!la && !lb) break;
      for (const l of [la, lb]) if (l) claimed.push(l.task.id);
    }
    expect(claimed).toHaveLength(50);
    expect(new Set(claimed).size).toBe(50);
    await a.close();
    await b.close();
  });

  it('wakes an idle waiter when another connection enqueues', async () => {
    const file = path.join(dir, 'wake.db');
    const a = await openSqliteQueue({ file, pollMs: 10 });
    const b = await openSqliteQueue({ file });
    const waiting = a.waitForWork(['chat'], 30_000);
    await b.enqueue({ kind: 'echo', capability: 'chat' });
    await waiting; // resolves through data_version long before the 30 s bound
    expect(await a.claim(['chat'], 'a')).toBeDefined();
    await a.close();
    await b.close();
  });
});
