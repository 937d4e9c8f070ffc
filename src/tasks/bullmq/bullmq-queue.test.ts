import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../observability/logger.js';
import { describeTaskQueueBehaviour } from '../testing/behaviour.js';
import type { QueueOptions } from '../types.js';
import { startRedisServer, type RedisServer } from '../testing/redis-server.js';
import { checkEvictionPolicy, connectRedis } from './connection.js';
import { openBullmqQueue } from './bullmq-queue.js';

let redis: RedisServer;
let n = 0;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.destroy();
});

const LEASE_MS = 500;
const open = (prefix = `t${++n}`, options: QueueOptions = {}) =>
  openBullmqQueue({
    url: redis.url,
    prefix,
    leaseMs: LEASE_MS,
    retryBaseMs: 50,
    maxAttempts: 3,
    logger: createLogger('silent'),
    ...options,
  });

describeTaskQueueBehaviour('bullmq', { open: (options) => open(undefined, options), leaseMs: LEASE_MS });

describe('bullmq queue specifics', () => {
  it('warns when Redis may evict keys, and not under noeviction', async () => {
    const conn = await connectRedis(redis.url);
    const lines: string[] = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    expect(await checkEvictionPolicy(conn, logger)).toBe('noeviction');
    expect(lines).toEqual([]);
    await conn.config('SET', 'maxmemory-policy', 'allkeys-lru');
    expect(await checkEvictionPolicy(conn, logger)).toBe('allkeys-lru');
    expect(lines.join('')).toContain('noeviction');
    await conn.config('SET', 'maxmemory-policy', 'noeviction');
    conn.disconnect();
  });

  it('says which Redis it cannot reach, without its password, and does not hang', async () => {
    const err = await openBullmqQueue({
      url: 'redis://:secret@127.0.0.1:1',
      logger: createLogger('silent'),
    }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^cannot reach Redis at redis:\/\/.*@127\.0\.0\.1:1/);
    expect((err as Error).message).not.toContain('secret');
  });

  it('keeps queues of different prefixes apart', async () => {
    const a = await open('apart-a');
    const b = await open('apart-b');
    await a.enqueue({ kind: 'echo', capability: 'chat' });
    expect(await b.claim(['chat'], 'w')).toBeUndefined();
    expect(await a.claim(['chat'], 'w')).toBeDefined();
    await a.close();
    await b.close();
  });
});
