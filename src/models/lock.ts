/**
 * A lock file so that two June processes (a server and a `june models pull`, say) never append to the same
 * .part at once. The file holds the owner's pid and host; the owner touches it every few seconds.
 *
 * A lock is stale, and is taken over, when:
 *  - its pid is gone (same host only: pids mean nothing across machines sharing a models volume), or
 *  - it names this very process but this process does not hold it (a container restarted as pid 1 again), or
 *  - it has not been touched for `staleMs` (owner hung or on another host and dead).
 */
import { randomUUID } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import { sleep } from '../util/abort.js';

export interface LockOwner {
  pid: number;
  hostname: string;
  token: string;
  createdAt: string;
}

export interface LockOptions {
  signal?: AbortSignal;
  /** How often a waiter looks again. Default 500 ms. */
  pollMs?: number;
  /** Untouched this long → stale. Default 60 s; the owner touches it every staleMs / 4. */
  staleMs?: number;
  /** Called once when the lock is busy and the caller starts waiting. */
  onWait?: (owner: LockOwner | undefined) => void;
}

export interface HeldLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Lock files this process holds right now (to tell our own live lock from a leftover with our pid). */
const held = new Set<string>();

export async function acquireLock(lockPath: string, options: LockOptions = {}): Promise<HeldLock> {
  const staleMs = options.staleMs ?? 60_000;
  let waited = false;
  for (;;) {
    const owner: LockOwner = {
      pid: process.pid,
      hostname: os.hostname(),
      token: randomUUID(),
      createdAt: new Date().toISOString(),
    };
    try {
      await fsp.writeFile(lockPath, JSON.stringify(owner), { flag: 'wx' });
      return hold(lockPath, owner, staleMs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const current = await readLock(lockPath);
    if (current === 'gone') continue;
    if (isStale(lockPath, current, staleMs)) {
      await breakLock(lockPath, current.text);
      continue;
    }
    if (!waited) options.onWait?.(current.owner);
    waited = true;
    await sleep(options.pollMs ?? 500, options.signal);
  }
}

function hold(lockPath: string, owner: LockOwner, staleMs: number): HeldLock {
  held.add(lockPath);
  const heartbeat = setInterval(
    () => {
      const now = new Date();
      fsp.utimes(lockPath, now, now).catch(() => {});
    },
    Math.max(50, staleMs / 4),
  );
  heartbeat.unref();
  let released = false;
  return {
    path: lockPath,
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      held.delete(lockPath);
      // Only remove the file if it is still ours: a waiter may have judged us stale and taken over.
      const current = await readLock(lockPath);
      if (current !== 'gone' && current.owner?.token === owner.token) await fsp.rm(lockPath, { force: true });
    },
  };
}

interface LockState {
  owner: LockOwner | undefined;
  text: string;
  mtimeMs: number;
}

async function readLock(lockPath: string): Promise<LockState | 'gone'> {
  try {
    const [text, stat] = await Promise.all([fsp.readFile(lockPath, 'utf8'), fsp.stat(lockPath)]);
    return { owner: parseOwner(text), text, mtimeMs: stat.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockOwner>;
    if (typeof v.pid === 'number' && typeof v.hostname === 'string' && typeof v.token === 'string')
      return v as LockOwner;
  } catch {
    // half-written or foreign content: judged by its age alone
  }
  return undefined;
}

function isStale(lockPath: string, state: LockState, staleMs: number): boolean {
  if (Date.now() - state.mtimeMs > staleMs) return true;
  const owner = state.owner;
  if (!owner || owner.hostname !== os.hostname()) return false;
  if (owner.pid === process.pid) return !held.has(lockPath);
  return !processAlive(owner.pid);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0 only checks that the process exists
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

/**
 * Removes a stale lock without removing a fresh one that another waiter created in the meantime: move it
 * aside, and if what was moved is not the stale content we judged, put it back.
 */
async function breakLock(lockPath: string, staleText: string): Promise<void> {
  const aside = `${lockPath}.${process.pid}.${randomUUID()}.stale`;
  try {
    await fsp.rename(lockPath, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = await fsp.readFile(aside, 'utf8').catch(() => staleText);
  if (moved !== staleText) await fsp.link(aside, lockPath).catch(() => {});
  await fsp.rm(aside, { force: true });
}
