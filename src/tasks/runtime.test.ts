import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createLogger } from '../observability/logger.js';
import { HandlerRegistry } from './handlers.js';
import { taskMetrics } from './metrics.js';
import { startWorkers, type StartWorkersOptions, type WorkerPool } from './runtime.js';
import { testBackends } from './testing/backends.js';
import { eventually } from './testing/eventually.js';
import { registerTestHandlers } from './testing/test-handlers.js';
import type { TaskEvent, TaskQueue } from './types.js';

const logger = createLogger('silent');
const LEASE_MS = 600;

for (const backend of testBackends()) {
  describe(`workers on ${backend.name}`, () => {
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());

    const cleanup: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanup.splice(0).reverse()) await c();
    });

    let flakyFails = true;
    const open = async (): Promise<TaskQueue> => {
      const q = await backend.open({ leaseMs: LEASE_MS, maxAttempts: 3 });
      cleanup.push(() => q.close());
      return q;
    };
    const start = async (queue: TaskQueue, extra: Partial<StartWorkersOptions> = {}): Promise<WorkerPool> => {
      const registry = new HandlerRegistry();
      registerTestHandlers(registry, { flakyFails: () => flakyFails });
      const pool = await startWorkers({
        queue,
        registry,
        capabilities: ['chat'],
        concurrency: 4,
        leaseMs: LEASE_MS,
        logger,
        metrics: false,
        ...extra,
      });
      cleanup.push(() => pool.stop());
      return pool;
    };
    const stateOf = async (q: TaskQueue, id: string) => (await q.get(id))?.task.state;

    it('runs tasks with their handlers and records each result', async () => {
      const q = await open();
      await start(q);
      const ids = await Promise.all(
        Array.from({ length: 20 }, (_, i) => q.enqueue({ kind: 'echo', capability: 'chat', payload: { i } })),
      );
      for (const [i, id] of ids.entries()) {
        await eventually(async () => (await stateOf(q, id)) === 'completed', `task ${i} to complete`);
        expect((await q.get(id))?.task.result).toEqual({ i });
      }
    });

    it('retries a handler that always throws with growing delays, dead-letters it, and redrive runs it again', async () => {
      flakyFails = true;
      const q = await open();
      await start(q);
      const id = await q.enqueue({ kind: 'flaky', capability: 'chat' });
      await eventually(async () => (await stateOf(q, id)) === 'dead', 'the task to die');
      const d = (await q.get(id))!;
      expect(d.attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed']);
      const [d1, d2] = d.attempts.map((a) => a.retryDelayMs);
      expect(d2!).toBeGreaterThanOrEqual(d1!);
      // no attempt started before its backoff was over
      for (let i = 1; i < d.attempts.length; i++) {
        const prev = d.attempts[i - 1]!;
        expect(d.attempts[i]!.startedAt! - prev.endedAt!).toBeGreaterThanOrEqual(prev.retryDelayMs! - 5);
      }
      expect(d.task.error?.message).toBe('flaky failure (attempt 3)');
      expect((await q.listDead()).map((t) => t.id)).toContain(id);

      flakyFails = false;
      expect(await q.redrive({ id })).toBe(1);
      await eventually(async () => (await stateOf(q, id)) === 'completed', 'the redriven task to complete');
      expect((await q.get(id))?.task.result).toBe('recovered');
      expect(await q.listDead()).toEqual([]);
    });

    it('dead-letters a task no worker has a handler for, saying so', async () => {
      const q = await open();
      await start(q);
      const id = await q.enqueue({ kind: 'unknown-kind', capability: 'chat', maxAttempts: 1 });
      await eventually(async () => (await stateOf(q, id)) === 'dead', 'the task to die');
      expect((await q.get(id))?.task.error?.code).toBe('no_handler');
    });

    it('stops a running handler when its task is cancelled', async () => {
      const q = await open();
      await start(q);
      const id = await q.enqueue({ kind: 'sleep', capability: 'chat', payload: { ms: 60_000 } });
      await eventually(async () => (await stateOf(q, id)) === 'active', 'the task to start');
      expect(await q.cancel(id)).toBe(true);
      await eventually(async () => (await stateOf(q, id)) === 'cancelled', 'the task to be cancelled');
      expect(await q.listDead()).toEqual([]);
    });

    it('shows live progress of a running task to subscribers', async () => {
      const q = await open();
      const events: TaskEvent[] = [];
      const sub = await q.subscribe((e) => events.push(e), { capability: 'chat' });
      cleanup.push(() => sub.close());
      await start(q);
      const id = await q.enqueue({
        kind: 'stages',
        capability: 'chat',
        payload: { stages: ['stt', 'llm', 'tts'] },
      });
      await eventually(
        async () => events.some((e) => e.taskId === id && e.type === 'completed'),
        'completion',
      );
      expect(events.filter((e) => e.type === 'progress').map((e) => e.stage)).toEqual(['stt', 'llm', 'tts']);
    });

    it('drains on stop: running tasks finish, queued ones stay for the next worker', async () => {
      const q = await open();
      const pool = await start(q, { concurrency: 1 });
      const running = await q.enqueue({ kind: 'sleep', capability: 'chat', payload: { ms: 300 } });
      await eventually(async () => (await stateOf(q, running)) === 'active', 'the task to start');
      const waiting = await q.enqueue({ kind: 'echo', capability: 'chat', payload: 'later' });
      expect((await q.listWorkers()).map((w) => w.id)).toContain(pool.id);
      await pool.stop();
      expect(await stateOf(q, running)).toBe('completed');
      expect(await stateOf(q, waiting)).toBe('queued');
      expect((await q.listWorkers()).map((w) => w.id)).not.toContain(pool.id);
      await start(q);
      await eventually(async () => (await stateOf(q, waiting)) === 'completed', 'the next worker to run it');
    });

    it('gives a task back without spending an attempt when the drain times out', async () => {
      const q = await open();
      const pool = await start(q, { concurrency: 1, drainTimeoutMs: 100 });
      const id = await q.enqueue({ kind: 'sleep', capability: 'chat', payload: { ms: 60_000 } });
      await eventually(async () => (await stateOf(q, id)) === 'active', 'the task to start');
      await pool.stop();
      const d = (await q.get(id))!;
      expect(d.task.state).toBe('queued');
      expect(d.task.attempts).toBe(0);
    });

    it('counts completions and failures in Prometheus metrics, with in-flight work apart from new', async () => {
      const q = await open();
      const registry = new Registry();
      const metrics = taskMetrics(registry);
      await start(q, { metrics });
      const done = await q.enqueue({ kind: 'echo', capability: 'chat', payload: 1 });
      const bad = await q.enqueue({ kind: 'bad-input', capability: 'chat' });
      await eventually(async () => (await stateOf(q, done)) === 'completed', 'completion');
      await eventually(async () => (await stateOf(q, bad)) === 'dead', 'the bad task to die');
      const busy = await q.enqueue({ kind: 'sleep', capability: 'chat', payload: { ms: 60_000 } });
      await eventually(async () => (await stateOf(q, busy)) === 'active', 'the sleeper to start');
      const text = await registry.metrics();
      expect(text).toMatch(/june_tasks_completed_total\{capability="chat"\} 1/);
      expect(text).toMatch(/june_tasks_failed_total\{capability="chat",outcome="dead"\} 1/);
      expect(text).toMatch(/june_tasks_active\{capability="chat"\} 1/);
      expect(text).toMatch(/june_tasks_new\{capability="chat"\} 0/);
      expect(text).toMatch(/june_tasks_dead\{capability="chat"\} 1/);
      expect(text).toMatch(/june_tasks_wait_seconds_count\{capability="chat"\} 3/);
      expect(text).toMatch(/june_tasks_run_seconds_count\{capability="chat"\} 2/);
      await q.cancel(busy);
    });

    it('keeps a slot free of tasks that wait for other tasks, so they cannot starve their own subtasks', async () => {
      const q = await open();
      const registry = new HandlerRegistry();
      registry.register('leaf', 'chat', async ({ task }) => ({ leaf: task.payload }));
      let roots = 0;
      let mostRootsAtOnce = 0;
      registry.register(
        'root',
        'plan',
        async ({ task, signal, once }) => {
          roots += 1;
          mostRootsAtOnce = Math.max(mostRootsAtOnce, roots);
          try {
            // like a plan's root: enqueue a subtask, then wait for it while holding the slot
            const leaf = await once('leaf', () =>
              q.enqueue({
                kind: 'leaf',
                capability: 'chat',
                payload: task.payload,
                idempotencyKey: `leaf-${task.id}`,
              }),
            );
            return await eventually(
              async () => {
                signal.throwIfAborted();
                const d = await q.get(leaf);
                return d?.task.state === 'completed' ? d.task.result : undefined;
              },
              'the leaf task',
              60_000,
            );
          } finally {
            roots -= 1;
          }
        },
        { waitsForTasks: true },
      );
      const pool = await startWorkers({
        queue: q,
        registry,
        concurrency: 2,
        leaseMs: LEASE_MS,
        logger,
        metrics: false,
      });
      cleanup.push(() => pool.stop());
      const ids = await Promise.all(
        [1, 2, 3].map((n) => q.enqueue({ kind: 'root', capability: 'plan', payload: { n } })),
      );
      for (const [i, id] of ids.entries()) {
        await eventually(async () => (await stateOf(q, id)) === 'completed', `root ${i} to complete`, 60_000);
        expect((await q.get(id))?.task.result).toEqual({ leaf: { n: i + 1 } });
      }
      // two slots: one for a root at most, the other always free for the leaves
      expect(mostRootsAtOnce).toBe(1);
    });
  });
}
