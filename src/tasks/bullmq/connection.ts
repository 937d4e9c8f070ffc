/**
 * The Redis connection for the BullMQ queue. Commands wait through a Redis restart instead of failing
 * (maxRetriesPerRequest: null, as BullMQ requires), so a worker rides out an outage and carries on.
 */
import type { Redis } from 'ioredis';
import { redactUrl } from '../../config/load.js';
import type { Logger } from '../../observability/logger.js';
import { JuneError } from '../../util/errors.js';

export async function connectRedis(url: string): Promise<Redis> {
  const { Redis: RedisClient } = await import('ioredis');
  const redis = new RedisClient(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    // reconnect quickly at first, then every 2 s, for as long as it takes
    retryStrategy: (times: number) => Math.min(50 * times, 2000),
    lazyConnect: true,
  });
  // without a listener, ioredis reports every reconnect attempt as an unhandled error event
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect(); // or it keeps reconnecting and holds the process open
    throw new JuneError(
      `cannot reach Redis at ${redactUrl(url)} (JUNE_REDIS_URL): ${(err as Error).message}`,
      {
        code: 'queue_unavailable',
        retryable: true,
        cause: err,
      },
    );
  }
  return redis;
}

/**
 * BullMQ keeps jobs and locks in plain keys: under any eviction policy but noeviction, Redis may drop
 * them when memory runs out, and tasks vanish silently. Returns the policy it found.
 */
export async function checkEvictionPolicy(redis: Redis, logger: Logger): Promise<string | undefined> {
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch {
    // managed Redis often forbids CONFIG; INFO has the same value
    const info = await redis.info('memory').catch(() => '');
    policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  }
  if (policy && policy !== 'noeviction') {
    logger.warn(
      { maxmemoryPolicy: policy },
      `Redis maxmemory-policy is "${policy}": under memory pressure Redis may evict queued tasks. Set it to noeviction.`,
    );
  }
  return policy;
}
