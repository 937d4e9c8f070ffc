/**
 * Per-user token bucket: `burst` messages at once, refilled at `perMinute`. In memory by default; with the
 * bullmq queue the same algorithm runs in Redis (one Lua call, atomic) so every process shares the limit.
 */
export interface RateLimiter {
  /** Takes one token for `key`; false when the user has to slow down. */
  take(key: string): Promise<boolean>;
}

export interface BucketOptions {
  perMinute: number;
  burst: number;
  now?: () => number;
}

export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly now: () => number;

  constructor(private readonly options: BucketOptions) {
    this.now = options.now ?? Date.now;
  }

  async take(key: string): Promise<boolean> {
    const now = this.now();
    const ratePerMs = this.options.perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: this.options.burst, at: now };
    b.tokens = Math.min(this.options.burst, b.tokens + (now - b.at) * ratePerMs);
    b.at = now;
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    this.buckets.set(key, b);
    if (this.buckets.size > 10_000) this.evictFull(now, ratePerMs);
    return ok;
  }

  /** Buckets that have refilled completely carry no state worth keeping. */
  private evictFull(now: number, ratePerMs: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + (now - b.at) * ratePerMs >= this.options.burst) this.buckets.delete(k);
    }
  }
}

const REDIS_BUCKET = `
local key = KEYS[1]
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local b = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate)
local ok = 0
if tokens >= 1 then tokens = tokens - 1; ok = 1 end
redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', key, math.ceil(burst / rate) + 1000)
return ok`;

/** Minimal surface of an ioredis client that the Redis limiter needs. */
export interface RedisEval {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: RedisEval,
    private readonly options: BucketOptions,
    private readonly prefix = 'june:ratelimit:',
  ) {}

  async take(key: string): Promise<boolean> {
    const now = (this.options.now ?? Date.now)();
    const result = await this.redis.eval(
      REDIS_BUCKET,
      1,
      this.prefix + key,
      this.options.burst,
      this.options.perMinute / 60_000,
      now,
    );
    return Number(result) === 1;
  }
}
