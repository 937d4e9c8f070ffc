/**
 * How many worker containers a pool should run, decided from the same queue gauges KEDA reads
 * (june_tasks_new and june_tasks_active, per capability). A pool is the worker containers that serve
 * one set of capabilities (`--capabilities voice,chat`). The rules:
 * - new (due, waiting) tasks are what asks for more workers; in-flight (active) tasks only keep the
 *   workers that run them: they never cause a scale-up by themselves;
 * - retrying and dead tasks are not work for a new worker (a retry waits out its backoff, a dead task
 *   waits for a person), so they never add workers; the one exception keeps retries alive: a pool scaled
 *   to zero gets one worker while it has retrying tasks, or they would never run;
 * - one worker per `perWorker` tasks (the workers' --concurrency), within [min, max];
 * - after a change, the pool waits `upCooldownMs` before growing again and `downCooldownMs` before
 *   shrinking, so one burst does not make it flap.
 * Pure: the caller supplies the clock and remembers when each pool last changed.
 */

export interface QueueLoad {
  /** Due tasks waiting for a worker. */
  new: number;
  /** Tasks running now. */
  active: number;
  /** Tasks waiting out a retry backoff (reported, never scaled on). */
  retrying: number;
  /** Dead-lettered tasks (reported, never scaled on). */
  dead: number;
}

export interface PoolLimits {
  min: number;
  max: number;
  /** Tasks one worker runs at once. */
  perWorker: number;
  upCooldownMs: number;
  downCooldownMs: number;
}

export interface PoolState {
  /** The pool's capabilities, e.g. ["voice", "chat"]. */
  capabilities: string[];
  /** Worker containers running now. */
  running: number;
  /** When the pool was last scaled (ms since the epoch), if ever. */
  lastScaledAt?: number;
}

export interface Decision {
  capabilities: string[];
  load: QueueLoad;
  running: number;
  desired: number;
  action: 'up' | 'down' | 'none';
  reason: string;
}

export const ZERO_LOAD: QueueLoad = { new: 0, active: 0, retrying: 0, dead: 0 };

/** The load of a pool: the sum over its capabilities. */
export function poolLoad(capabilities: string[], loads: ReadonlyMap<string, QueueLoad>): QueueLoad {
  const total = { ...ZERO_LOAD };
  for (const c of capabilities) {
    const l = loads.get(c) ?? ZERO_LOAD;
    total.new += l.new;
    total.active += l.active;
    total.retrying += l.retrying;
    total.dead += l.dead;
  }
  return total;
}

export function decide(pool: PoolState, load: QueueLoad, limits: PoolLimits, now: number): Decision {
  const { running } = pool;
  const base = { capabilities: pool.capabilities, load, running };
  const clamp = (n: number) => Math.min(limits.max, Math.max(limits.min, n));
  const perWorker = Math.max(1, limits.perWorker);
  const needed = Math.ceil((load.new + load.active) / perWorker);
  let desired = clamp(needed);
  let reason: string;
  if (desired === 0 && load.retrying > 0 && limits.max > 0) {
    desired = 1;
    reason = `${load.retrying} retrying: one worker runs them when they are due`;
  } else if (desired > running && load.new === 0 && running >= limits.min) {
    // only in-flight work above the pool's slots (workers outside this host, say): not a reason to grow
    desired = running;
    reason = `${load.active} in flight and nothing new: no new worker needed`;
  } else if (desired > running) {
    reason =
      running < limits.min
        ? `below the minimum of ${limits.min}`
        : `${load.new} new + ${load.active} in flight need ${needed} × ${perWorker}`;
  } else if (desired < running) {
    reason =
      running > limits.max
        ? `above the maximum of ${limits.max}`
        : `${load.new} new + ${load.active} in flight need only ${desired}`;
  } else reason = `${load.new} new + ${load.active} in flight: ${running} is right`;

  if (
    desired !== running &&
    pool.lastScaledAt !== undefined &&
    running >= limits.min &&
    running <= limits.max
  ) {
    const wait = desired > running ? limits.upCooldownMs : limits.downCooldownMs;
    const left = pool.lastScaledAt + wait - now;
    if (left > 0)
      return {
        ...base,
        desired: running,
        action: 'none',
        reason: `${reason}, but cooling down ${Math.ceil(left / 1000)} s more`,
      };
  }
  const action = desired > running ? 'up' : desired < running ? 'down' : 'none';
  return { ...base, desired, action, reason };
}
