/**
 * Crash and fault tests with real processes: workers are child processes killed with SIGKILL, and the
 * Redis server itself is killed and restarted under running workers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { HandlerRegistry } from './handlers.js';
import { startWorkers } from './runtime.js';
import { testBackends, type TestBackend } from './testing/backends.js';
import { eventually } from './testing/eventually.js';
import { registerTestHandlers } from './testing/test-handlers.js';
import type { TestWorkerSettings } from './testing/worker-entry.js';
import type { Task, TaskQueue } from './types.js';

const LEASE_MS = 1000;
const entry = fileURLToPath(new URL('./testing/worker-entry.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

interface WorkerProcess {
  proc: ChildProcess;
  kill9(): Promise<void>;
}

const children: WorkerProcess[] = [];

async function spawnWorker(settings: TestWorkerSettings): Promise<WorkerProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: repoRoot,
    env: { ...process.env, JUNE_TEST_WORKER: JSON.stringify(settings) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await eventually(
    async () => {
      if (proc.exitCode !== null) throw new Error(`worker process exited early: ${err}`);
      return out.includes('ready\n');
    },
    'the worker process to start',
    30_000,
  );
  const w: WorkerProcess = {
    proc,
    kill9: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
  };
  children.push(w);
  return w;
}

afterEach(async () => {
  for (const c of children.splice(0)) await c.kill9();
});

const recordedIds = (file: string) =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
const chatStats = async (q: TaskQueue) => (await q.stats()).find((s) => s.capability === 'chat');

/** Every task ran to completion once in the queue; a delivery was repeated only by a task that was re-run. */
async function expectAllCompletedOnce(q: TaskQueue, expected: number, recordFile: string): Promise<Task[]> {
  const tasks = await q.list({ capability: 'chat', limit: 10_000 });
  expect(tasks).toHaveLength(expected);
  expect(tasks.filter((t) => t.state !== 'completed')).toEqual([]);
  const deliveries = new Map<string, number>();
  for (const id of recordedIds(recordFile)) deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
  for (const t of tasks) {
    expect(deliveries.get(t.id) ?? 0, `deliveries of ${t.id}`).toBeGreaterThanOrEqual(1);
    if ((deliveries.get(t.id) ?? 0) > 1)
      expect(t.attempts, `attempts of re-delivered ${t.id}`).toBeGreaterThan(1);
  }
  for (const t of tasks.filter((t) => t.attempts > 1)) {
    const d = (await q.get(t.id))!;
    expect(d.timeline.filter((e) => e.type === 'completed')).toHaveLength(1);
  }
  return tasks;
}

function crashSuite(backend: TestBackend) {
  describe(`crashes on ${backend.name}`, () => {
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());

    it('finishes a task on another worker after its worker is killed mid-task, recording one result', async () => {
      const q = await backend.open({ leaseMs: LEASE_MS });
      const recordFile = path.join(backend.tmp(), `${backend.name}-mid-task.txt`);
      const id = await q.enqueue({ kind: 'record', capability: 'chat', payload: { hangFirst: true } });
      const base = { ...backend.location(), leaseMs: LEASE_MS, concurrency: 1, recordFile };
      const doomed = await spawnWorker({ ...base, workerId: 'doomed' });
      // the first attempt delivered its reply, then hangs
      await eventually(
        async () => (await q.get(id))?.task.progress?.stage === 'delivered',
        'the first delivery',
      );
      expect(recordedIds(recordFile)).toEqual([id]);
      expect((await q.get(id))?.task.state).toBe('active');
      await doomed.kill9();
      await spawnWorker({ ...base, workerId: 'rescuer' });
      await eventually(async () => (await q.get(id))?.task.state === 'completed', 'the rescue', 30_000);
      const d = (await q.get(id))!;
      expect(d.task.result).toEqual({ attempt: 2, workerId: 'rescuer' });
      expect(d.attempts.map((a) => a.outcome)).toEqual(['lost', 'completed']);
      expect(d.timeline.filter((e) => e.type === 'completed')).toHaveLength(1);
      expect(recordedIds(recordFile)).toEqual([id]); // the re-run did not deliver again
      await q.close();
    });

    it('completes all 200 tasks after the whole process is killed with work queued and running', async () => {
      const q = await backend.open({ leaseMs: LEASE_MS });
      const recordFile = path.join(backend.tmp(), `${backend.name}-200.txt`);
      const settings: TestWorkerSettings = {
        ...backend.location(),
        leaseMs: LEASE_MS,
        concurrency: 4,
        recordFile,
        enqueue: {
          count: 200,
          spec: { kind: 'record', capability: 'chat', payload: { ms: 15 }, idempotencyKey: 'msg' },
        },
      };
      const first = await spawnWorker(settings);
      await eventually(async () => {
        const s = await chatStats(q);
        return s !== undefined && s.completed >= 30 && s.active > 0;
      }, 'some tasks done and some running');
      await first.kill9();
      const atKill = (await chatStats(q))!;
      expect(atKill.active).toBeGreaterThan(0);
      expect(atKill.completed).toBeLessThan(200);

      // the restarted process enqueues the same 200 messages again: idempotency keys make that a no-op
      await spawnWorker(settings);
      await eventually(async () => (await chatStats(q))?.completed === 200, 'all 200 to complete', 45_000);
      const tasks = await expectAllCompletedOnce(q, 200, recordFile);
      expect(tasks.some((t) => t.attempts > 1)).toBe(true); // the ones running at the kill ran again
      expect((await chatStats(q))?.dead).toBe(0);
      await q.close();
    });
  });
}

for (const backend of testBackends()) crashSuite(backend);

describe('Redis restarted under running bullmq workers', () => {
  const backend = testBackends().find((b) => b.name === 'bullmq')!;
  beforeAll(() => backend.setup({ persistentRedis: true }));
  afterAll(() => backend.teardown());

  it('reconnects and loses no task, including ones enqueued during the outage', async () => {
    const logger = createLogger('silent');
    const q = await backend.open({ leaseMs: LEASE_MS });
    const recordFile = path.join(backend.tmp(), 'redis-restart.txt');
    const registry = new HandlerRegistry();
    registerTestHandlers(registry, { recordFile });
    const pool = await startWorkers({
      queue: q,
      registry,
      capabilities: ['chat'],
      concurrency: 4,
      leaseMs: LEASE_MS,
      logger,
      metrics: false,
    });
    const spec = (i: number) => ({
      kind: 'record',
      capability: 'chat',
      payload: { ms: 20 },
      idempotencyKey: `m${i}`,
    });
    for (let i = 0; i < 100; i++) await q.enqueue(spec(i));
    await eventually(async () => ((await chatStats(q))?.completed ?? 0) >= 30, 'some progress');

    const redis = backend.redis()!;
    await redis.kill();
    const duringOutage = Array.from({ length: 20 }, (_, i) => q.enqueue(spec(100 + i)));
    await new Promise((r) => setTimeout(r, 500));
    await redis.start();
    await Promise.all(duringOutage);

    await eventually(async () => (await chatStats(q))?.completed === 120, 'all 120 to complete', 45_000);
    await expectAllCompletedOnce(q, 120, recordFile);
    await pool.stop();
    await q.close();
  });
});
