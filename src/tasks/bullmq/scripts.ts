/**
 * Lua scripts for what BullMQ does not do: per-conversation FIFO and stats that tell retries from
 * scheduled tasks. Scripts read BullMQ's job hashes (`<prefix>:<queue>:<id>`, fields `ats`, `finishedOn`)
 * and list/zset names; these are stable across BullMQ 5 and 6. Not for Redis Cluster (keys are derived
 * inside the scripts).
 *
 * The conversation gate: `<p>:_:conv:<key>` lists the conversation's unfinished top-level tasks in order;
 * only its head is in BullMQ. The others wait in `<p>:_:held:<capability>` (id → stored spec) until the
 * head finishes and `advance` hands the next one over.
 */
import type { Redis } from 'ioredis';

const capOf = `local function capOf(id) return string.match(id, '^([a-z][a-z0-9_]*)%-') end`;

/**
 * Pops finished heads (their release may have been lost in a crash) and returns the first head that is
 * still held, for the caller to hand to BullMQ: {id, spec} or false.
 */
const advanceLoop = `
local head = redis.call('LINDEX', conv, 0)
while head do
  local cap = capOf(head)
  local held = redis.call('HGET', prefix .. ':_:held:' .. cap, head)
  if held then return {head, held} end
  local jobKey = prefix .. ':' .. cap .. ':' .. head
  if redis.call('EXISTS', jobKey) == 1 and redis.call('HEXISTS', jobKey, 'finishedOn') == 0 then return false end
  redis.call('LPOP', conv)
  head = redis.call('LINDEX', conv, 0)
end
redis.call('SREM', convs, convKey)
return false`;

export const scripts = {
  /** KEYS conv, held, jobKey, convs; ARGV id, spec, convKey → -1 duplicate, 1 head (add now), 0 held */
  juneGateEnqueue: {
    numberOfKeys: 4,
    lua: `
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return -1 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[3])
if redis.call('LLEN', KEYS[1]) == 1 then return 1 end
return 0`,
  },
  /** KEYS conv, convs; ARGV prefix, convKey, finishedId ('' for a check only) → {id, spec} | false */
  juneGateAdvance: {
    numberOfKeys: 2,
    lua: `${capOf}
local conv, convs, prefix, convKey = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
if ARGV[3] ~= '' then redis.call('LREM', conv, 1, ARGV[3]) end
${advanceLoop}`,
  },
  /**
   * A redriven task goes right after the running head (or becomes the head). KEYS conv, held, convs;
   * ARGV id, spec, convKey → 1 head (retry now), 0 held
   */
  juneGateRedrive: {
    numberOfKeys: 3,
    lua: `
redis.call('SADD', KEYS[3], ARGV[3])
local head = redis.call('LINDEX', KEYS[1], 0)
if not head then redis.call('RPUSH', KEYS[1], ARGV[1]) return 1 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('LINSERT', KEYS[1], 'AFTER', head, ARGV[1])
return 0`,
  },
  /** KEYS held, dlq; ARGV queue key prefix ('<p>:<cap>') → {new, delayed, retrying, active, waitingChildren, completed, dead} */
  juneStats: {
    numberOfKeys: 2,
    lua: `
local q = ARGV[1]
local new = redis.call('LLEN', q .. ':wait') + redis.call('ZCARD', q .. ':prioritized') + redis.call('HLEN', KEYS[1])
local delayed, retrying = 0, 0
for _, id in ipairs(redis.call('ZRANGE', q .. ':delayed', 0, -1)) do
  local ats = tonumber(redis.call('HGET', q .. ':' .. id, 'ats') or '0') or 0
  if ats > 0 then retrying = retrying + 1 else delayed = delayed + 1 end
end
return {new, delayed, retrying, redis.call('LLEN', q .. ':active'), redis.call('ZCARD', q .. ':waiting-children'),
  redis.call('ZCARD', q .. ':completed'), redis.call('ZCARD', KEYS[2])}`,
  },
} as const;

export type ScriptName = keyof typeof scripts;

export function defineScripts(redis: Redis): void {
  for (const [name, s] of Object.entries(scripts)) {
    redis.defineCommand(name, { numberOfKeys: s.numberOfKeys, lua: s.lua });
  }
}

/** Typed calls of the scripts defined on a connection. */
export interface ScriptCalls {
  juneGateEnqueue(
    conv: string,
    held: string,
    jobKey: string,
    convs: string,
    id: string,
    spec: string,
    convKey: string,
  ): Promise<number>;
  juneGateAdvance(
    conv: string,
    convs: string,
    prefix: string,
    convKey: string,
    finishedId: string,
  ): Promise<[string, string] | null>;
  juneGateRedrive(
    conv: string,
    held: string,
    convs: string,
    id: string,
    spec: string,
    convKey: string,
  ): Promise<number>;
  juneStats(held: string, dlq: string, queuePrefix: string): Promise<number[]>;
}

export function callScripts(redis: Redis): ScriptCalls {
  return redis as unknown as ScriptCalls;
}
