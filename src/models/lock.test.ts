import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError } from '../util/errors.js';
import { acquireLock, type LockOwner } from './lock.js';

let dir: string;
let lockPath: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-lock-'));
  lockPath = path.join(dir, 'model.bin.lock');
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeLock(owner: Partial<LockOwner>, ageMs = 0): void {
  fs.writeFileSync(
    lockPath,
    JSON.stringify({ hostname: os.hostname(), token: 'x', createdAt: '', ...owner }),
  );
  if (ageMs > 0) {
    const then = new Date(Date.now() - ageMs);
    fs.utimesSync(lockPath, then, then);
  }
}

describe('acquireLock', () => {
  it('records the owner and removes the file on release', async () => {
    const lock = await acquireLock(lockPath);
    const owner = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockOwner;
    expect(owner).toMatchObject({ pid: process.pid, hostname: os.hostname() });
    await lock.release();
    expect(fs.existsSync(lockPath)).toBe(false);
  });

  it('makes a second holder in the same process wait until the first releases', async () => {
    // The holder touches the file every 500 ms; only a stall of three times that would make it stale.
    const first = await acquireLock(lockPath, { staleMs: 2000 });
    let waitedFor: LockOwner | undefined;
    let acquired = false;
    const second = acquireLock(lockPath, { pollMs: 20, staleMs: 2000, onWait: (o) => (waitedFor = o) }).then(
      (l) => {
        acquired = true;
        return l;
      },
    );
    // Longer than staleMs: the heartbeat keeps the held lock fresh, so it is not taken over.
    await new Promise((r) => setTimeout(r, 3000));
    expect(acquired).toBe(false);
    expect(waitedFor?.pid).toBe(process.pid);
    await first.release();
    await (await second).release();
    expect(acquired).toBe(true);
  });

  it('waits for a live process and takes over once it has exited', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      writeLock({ pid: other.pid });
      let waiting = false;
      const pending = acquireLock(lockPath, { pollMs: 20, onWait: () => (waiting = true) });
      await expect.poll(() => waiting, { timeout: 10_000 }).toBe(true);
      other.kill();
      const lock = await pending;
      expect((JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockOwner).pid).toBe(process.pid);
      await lock.release();
    } finally {
      other.kill();
    }
  });

  it('takes over a lock naming this pid that this process does not hold (restarted container)', async () => {
    writeLock({ pid: process.pid, token: 'previous-life' });
    const lock = await acquireLock(lockPath, { pollMs: 20 });
    expect((JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockOwner).token).not.toBe('previous-life');
    await lock.release();
  });

  it('takes over a lock from another host once it is older than staleMs, but not before', async () => {
    writeLock({ pid: 1, hostname: 'elsewhere' });
    let waiting = false;
    const blocked = new AbortController();
    const attempt = acquireLock(lockPath, {
      pollMs: 20,
      staleMs: 60_000,
      signal: blocked.signal,
      onWait: () => (waiting = true),
    });
    await expect.poll(() => waiting, { timeout: 10_000 }).toBe(true);
    blocked.abort();
    await expect(attempt).rejects.toBeInstanceOf(CancelledError);

    writeLock({ pid: 1, hostname: 'elsewhere' }, 120_000);
    const lock = await acquireLock(lockPath, { pollMs: 20, staleMs: 60_000 });
    expect((JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockOwner).hostname).toBe(os.hostname());
    await lock.release();
  });

  it('does not delete a lock that someone else took over after it went stale', async () => {
    const mine = await acquireLock(lockPath);
    writeLock({ pid: 1, hostname: 'elsewhere', token: 'theirs' });
    await mine.release();
    expect((JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockOwner).token).toBe('theirs');
  });
});
