import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../tasks/testing/redis-server.js';
import { parseCommand } from './commands.js';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from './rate-limit.js';
import { splitText } from './text-split.js';

describe('splitText', () => {
  it('keeps short text whole and splits long text on paragraph, then sentence, then word boundaries', () => {
    expect(splitText('hello', 10)).toEqual(['hello']);
    const paragraphs = `${'a'.repeat(30)}\n\n${'b'.repeat(30)}`;
    expect(splitText(paragraphs, 40)).toEqual(['a'.repeat(30), 'b'.repeat(30)]);
    const sentences = 'This is one sentence. This is another one here. And a third.';
    const parts = splitText(sentences, 30);
    expect(parts[0]).toBe('This is one sentence.');
    expect(parts.every((p) => p.length <= 30)).toBe(true);
    expect(parts.join(' ')).toBe(sentences);
  });

  it('never exceeds the limit, even for one endless word', () => {
    const parts = splitText('x'.repeat(25), 10);
    expect(parts).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
  });

  it('splits a 10 000-character reply for Telegram (4096) and Discord (2000) without losing words', () => {
    const words = Array.from({ length: 1500 }, (_, i) => `word${i}${i % 12 === 11 ? '.' : ''}`).join(' ');
    for (const limit of [4096, 2000]) {
      const parts = splitText(words, limit);
      expect(parts.every((p) => p.length <= limit)).toBe(true);
      expect(parts.join(' ').split(/\s+/)).toEqual(words.split(/\s+/));
    }
  });
});

describe('parseCommand', () => {
  it('reads commands with a bot suffix and arguments', () => {
    expect(parseCommand('/voice@JuneBot always')).toEqual({ name: 'voice', args: ['always'] });
    expect(parseCommand('/NEW')).toEqual({ name: 'new', args: [] });
    expect(parseCommand('hello /new')).toBeUndefined();
    expect(parseCommand(undefined)).toBeUndefined();
  });
});

function limiterSuite(name: string, make: (now: () => number) => Promise<RateLimiter>) {
  describe(`${name} rate limiter`, () => {
    it('allows a burst, refuses the next message, and refills over time', async () => {
      let now = 1_000_000;
      const limiter = await make(() => now);
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await limiter.take('telegram:1'));
      expect(results).toEqual([true, true, true, false]);
      expect(await limiter.take('telegram:2')).toBe(true); // per user
      now += 20_000; // 6/min → one token every 10 s
      expect(await limiter.take('telegram:1')).toBe(true);
      expect(await limiter.take('telegram:1')).toBe(true);
      expect(await limiter.take('telegram:1')).toBe(false);
    });
  });
}

let redis: RedisServer | undefined;
let client: Redis | undefined;
beforeAll(async () => {
  redis = await startRedisServer();
  const { Redis } = await import('ioredis');
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.destroy();
});

limiterSuite('memory', async (now) => new MemoryRateLimiter({ perMinute: 6, burst: 3, now }));
limiterSuite('redis', async (now) => {
  await client!.flushall();
  return new RedisRateLimiter(client!, { perMinute: 6, burst: 3, now });
});
