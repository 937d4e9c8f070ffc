/**
 * Both queue backends for tests that run the same scenario on each: SQLite in a temp directory, BullMQ on
 * a real redis-server of its own. Call `setup()` in beforeAll and `teardown()` in afterAll.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../observability/logger.js';
import type { QueueOptions, TaskQueue } from '../types.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

export interface TestBackend {
  name: 'sqlite' | 'bullmq';
  setup(options?: { persistentRedis?: boolean }): Promise<void>;
  teardown(): Promise<void>;
  /** A fresh empty queue (its own file or key prefix). */
  open(options?: QueueOptions): Promise<TaskQueue>;
  /** Opens the queue `open` returned last time again (same file / prefix), as a restarted process would. */
  reopen(options?: QueueOptions): Promise<TaskQueue>;
  /** Settings for worker-entry.ts that reach the last opened queue. */
  location(): { backend: 'sqlite' | 'bullmq'; file?: string; url?: string; prefix?: string };
  redis(): RedisServer | undefined;
  tmp: () => string;
}

export function testBackends(): TestBackend[] {
  return [sqliteBackend(), bullmqBackend()];
}

function sqliteBackend(): TestBackend {
  let dir = '';
  let file = '';
  let n = 0;
  const openAt = async (f: string, options: QueueOptions = {}) => {
    const { openSqliteQueue } = await import('../sqlite/sqlite-queue.js');
    return openSqliteQueue({ file: f, pollMs: 20, retryBaseMs: 50, ...options });
  };
  return {
    name: 'sqlite',
    setup: async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-tasks-'));
    },
    teardown: async () => fs.rmSync(dir, { recursive: true, force: true }),
    open: (options) => {
      file = path.join(dir, `q${++n}.db`);
      return openAt(file, options);
    },
    reopen: (options) => openAt(file, options),
    location: () => ({ backend: 'sqlite', file }),
    redis: () => undefined,
    tmp: () => dir,
  };
}

function bullmqBackend(): TestBackend {
  let server: RedisServer | undefined;
  let dir = '';
  let prefix = '';
  let n = 0;
  const openAt = async (p: string, options: QueueOptions = {}) => {
    const { openBullmqQueue } = await import('../bullmq/bullmq-queue.js');
    return openBullmqQueue({
      url: server!.url,
      prefix: p,
      retryBaseMs: 50,
      logger: createLogger('silent'),
      ...options,
    });
  };
  return {
    name: 'bullmq',
    setup: async (options = {}) => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-tasks-'));
      server = await startRedisServer({ persistent: options.persistentRedis ?? false });
    },
    teardown: async () => {
      await server?.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    open: (options) => {
      prefix = `t${++n}`;
      return openAt(prefix, options);
    },
    reopen: (options) => openAt(prefix, options),
    location: () => ({ backend: 'bullmq', url: server!.url, prefix }),
    redis: () => server,
    tmp: () => dir,
  };
}
