import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
