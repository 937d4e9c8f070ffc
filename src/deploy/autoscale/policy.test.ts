import { describe, expect, it } from 'vitest';
import { decide, poolLoad, ZERO_LOAD, type PoolLimits, type QueueLoad } from './policy.js';

const limits: PoolLimits = { min: 1, max: 5, perWorker: 4, upCooldownMs: 30_000, downCooldownMs: 180_000 };
const load = (l: Partial<QueueLoad>): QueueLoad => ({ ...ZERO_LOAD, ...l });
const pool = (running: number, lastScaledAt?: number) => ({ capabilities: ['voice'], running, lastScaledAt });
const NOW = 1_000_000;

describe('autoscale decisions', () => {
  it('adds one worker per --concurrency of new plus in-flight tasks, within the maximum', () => {
    expect(decide(pool(1), load({ new: 9, active: 2 }), limits, NOW)).toMatchObject({
      desired: 3,
      action: 'up',
    });
    expect(decide(pool(1), load({ new: 100 }), limits, NOW)).toMatchObject({ desired: 5, action: 'up' });
  });

  it('never grows for in-flight work alone, nor for retrying or dead tasks', () => {
    // 12 running tasks on 1 worker (other hosts' workers run them): nothing new, nothing to add
    expect(decide(pool(1), load({ active: 12 }), limits, NOW)).toMatchObject({ desired: 1, action: 'none' });
    expect(decide(pool(1), load({ retrying: 50, dead: 400 }), limits, NOW)).toMatchObject({
      desired: 1,
      action: 'none',
    });
  });

  it('keeps one worker for retrying tasks in a pool that scales to zero, and never more', () => {
    const zero = { ...limits, min: 0 };
    expect(decide(pool(0), load({ retrying: 30 }), zero, NOW)).toMatchObject({ desired: 1, action: 'up' });
    expect(decide(pool(0), load({ retrying: 30 }), zero, NOW).reason).toBe(
      '30 retrying: one worker runs them when they are due',
    );
    expect(decide(pool(3), load({ retrying: 30 }), zero, NOW)).toMatchObject({ desired: 1, action: 'down' });
    expect(decide(pool(0), load({ dead: 30 }), zero, NOW)).toMatchObject({ desired: 0, action: 'none' });
  });

  it('keeps the workers that run in-flight tasks, and shrinks to what is needed', () => {
    expect(decide(pool(4), load({ active: 7 }), limits, NOW)).toMatchObject({ desired: 2, action: 'down' });
    expect(decide(pool(4), load({ dead: 9 }), limits, NOW)).toMatchObject({ desired: 1, action: 'down' });
    expect(decide(pool(3), load({ new: 1, active: 1 }), { ...limits, min: 0 }, NOW)).toMatchObject({
      desired: 1,
    });
    expect(decide(pool(1), ZERO_LOAD, { ...limits, min: 0 }, NOW)).toMatchObject({
      desired: 0,
      action: 'down',
    });
  });

  it('brings the pool within its bounds whatever the load', () => {
    expect(decide(pool(0), ZERO_LOAD, limits, NOW)).toMatchObject({ desired: 1, action: 'up' });
    expect(decide(pool(0), ZERO_LOAD, limits, NOW).reason).toBe('below the minimum of 1');
    expect(decide(pool(8), load({ new: 100 }), limits, NOW)).toMatchObject({ desired: 5, action: 'down' });
    // bounds apply even while cooling down
    expect(decide(pool(8, NOW - 1000), load({ new: 100 }), limits, NOW)).toMatchObject({ desired: 5 });
  });

  it('waits out the cooldowns after a change: a short one to grow, a long one to shrink', () => {
    const grow = decide(pool(1, NOW - 10_000), load({ new: 9 }), limits, NOW);
    expect(grow).toMatchObject({ desired: 1, action: 'none' });
    expect(grow.reason).toMatch(/cooling down 20 s more$/);
    expect(decide(pool(1, NOW - 30_000), load({ new: 9 }), limits, NOW)).toMatchObject({ action: 'up' });
    expect(decide(pool(4, NOW - 60_000), ZERO_LOAD, limits, NOW)).toMatchObject({ action: 'none' });
    expect(decide(pool(4, NOW - 180_000), ZERO_LOAD, limits, NOW)).toMatchObject({
      desired: 1,
      action: 'down',
    });
  });

  it('adds up the load of every capability a pool serves', () => {
    const loads = new Map([
      ['voice', load({ new: 3, active: 1 })],
      ['chat', load({ new: 2, retrying: 4 })],
      ['code', load({ new: 50 })],
    ]);
    expect(poolLoad(['voice', 'chat'], loads)).toEqual({ new: 5, active: 1, retrying: 4, dead: 0 });
    expect(poolLoad(['eval'], loads)).toEqual(ZERO_LOAD);
  });
});
