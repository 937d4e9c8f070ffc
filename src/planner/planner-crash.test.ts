/**
 * kill -9 of the process running a task tree's root, with real processes, on each queue backend (SQLite,
 * BullMQ on a real redis-server): a worker process is killed while the root is planning, while its subtasks
 * are running (in another worker process that lives on, or in the same process, which loses them too), or
 * while it is composing; a second worker process takes the root over once its lease expires. The tree
 * completes, and no subtask is enqueued twice (the recorded plan is reused; children are found again by
 * their idempotency keys) nor run twice unless its own worker died with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../../test/helpers/fake-openai-server.js';
import { gate, scriptPlanner } from '../../test/helpers/fake-planner-model.js';
import { testBackends, type TestBackend } from '../tasks/testing/backends.js';
import { eventually } from '../tasks/testing/eventually.js';
import type { TaskQueue } from '../tasks/types.js';
import { PLAN_RUN_CAPABILITY, PLAN_RUN_KIND, type PlanRunResult } from './contract.js';
import type { PlannerTestWorkerSettings } from './testing/worker-entry.js';

const LEASE_MS = 1000;
const entry = fileURLToPath(new URL('./testing/worker-entry.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

interface WorkerProcess {
  proc: ChildProcess;
  kill9(): Promise<void>;
}
const children: WorkerProcess[] = [];

async function spawnWorker(settings: PlannerTestWorkerSettings): Promise<WorkerProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: repoRoot,
    env: { ...process.env, JUNE_PLANNER_TEST_WORKER: JSON.stringify(settings) },
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
    60_000,
  );
  const w: WorkerProcess = {
    proc,
    kill9: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
  children.push(w);
  return w;
}

let server: FakeOpenAiServer;
beforeAll(async () => {
  server = await startFakeOpenAiServer();
});
afterAll(async () => {
  await server.close();
});
let queue: TaskQueue | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill9();
  await queue?.close();
  queue = undefined;
  server.reset();
});

type Settings = (workerId: string, capabilities?: string[]) => PlannerTestWorkerSettings;

async function setup(backend: TestBackend): Promise<{ q: TaskQueue; settings: Settings }> {
  queue = await backend.open({ leaseMs: LEASE_MS });
  const where = backend.location();
  const dataDir = backend.tmp();
  return {
    q: queue,
    settings: (workerId, capabilities) => ({
      ...where,
      dataDir,
      llmBaseUrl: server.url,
      leaseMs: LEASE_MS,
      workerId,
      ...(capabilities ? { capabilities } : {}),
    }),
  };
}

const chat = (id: string, instructions: string, needs: string[] = []) => ({
  id,
  capability: 'chat',
  instructions,
  needs,
});
const plan = {
  goal: 'Two steps',
  subtasks: [chat('a', 'STEP-A'), chat('b', 'STEP-B', ['a']), chat('c', 'STEP-C', ['a'])],
};
const answer = (p: string) => ({ text: `result-${/STEP-([A-Z])/.exec(p)?.[1] ?? '?'}` });
const composed = { text: JSON.stringify({ answer: 'Everything is done.', summary: 'Done.' }) };

/**
 * The tree completed after one lost attempt of the root, each subtask is one task (one per idempotency key)
 * that completed, and the model saw each subtask once, except those in `rerun`, whose own worker died
 * too: they ran a second attempt, and the model saw them twice.
 */
async function expectCompletedOnce(
  q: TaskQueue,
  rootId: string,
  model: ReturnType<typeof scriptPlanner>,
  rerun: string[] = [],
) {
  const root = await eventually(
    async () => {
      const d = await q.get(rootId);
      return d && ['completed', 'dead', 'cancelled'].includes(d.task.state) ? d : undefined;
    },
    'the tree to finish after the restart',
    120_000,
  );
  expect(root.task.state, JSON.stringify(root.task.error)).toBe('completed');
  expect(root.attempts.map((a) => a.outcome)).toEqual(['lost', 'completed']);
  const result = root.task.result as PlanRunResult;
  expect(result.status).toBe('completed');
  expect(result.answer).toBe('Everything is done.');
  const subtasks = (await q.list({ limit: 100 })).filter((t) => t.kind !== PLAN_RUN_KIND);
  expect(subtasks.map((t) => t.idempotencyKey).sort()).toEqual([`${rootId}:a`, `${rootId}:b`, `${rootId}:c`]);
  for (const t of subtasks) {
    expect(t.state).toBe('completed');
    const sub = t.idempotencyKey!.slice(rootId.length + 1);
    expect(t.attempts, `attempts of ${sub}`).toBe(rerun.includes(sub) ? 2 : 1);
  }
  for (const sub of ['a', 'b', 'c']) {
    const step = `STEP-${sub.toUpperCase()}`;
    expect(model.count('subtask', step), step).toBe(rerun.includes(sub) ? 2 : 1);
  }
}

const enqueueRoot = (q: TaskQueue) =>
  q.enqueue({ kind: PLAN_RUN_KIND, capability: PLAN_RUN_CAPABILITY, payload: { request: 'two steps' } });

for (const backend of testBackends()) {
  describe(`kill -9 of the process running a task tree (${backend.name})`, () => {
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());

    it('during planning: the next worker plans again and the tree completes once', async () => {
      const { q, settings } = await setup(backend);
      const never = gate();
      const model = scriptPlanner(server, {
        plans: [{ plan, hold: never.promise }, { plan }],
        subtask: answer,
        compose: () => composed,
      });
      try {
        const doomed = await spawnWorker(settings('doomed'));
        const rootId = await enqueueRoot(q);
        await eventually(async () => model.count('plan') === 1, 'the planning request', 60_000);
        await doomed.kill9();
        await spawnWorker(settings('rescuer'));
        await expectCompletedOnce(q, rootId, model);
        expect(model.count('plan')).toBe(2); // the lost planning was never recorded, so it ran again
        expect(model.count('compose')).toBe(1);
      } finally {
        never.open();
      }
    }, 300_000);

    it('while its subtasks run in another worker: the next root finds them running, enqueues none again', async () => {
      const { q, settings } = await setup(backend);
      const release = gate();
      const model = scriptPlanner(server, {
        plans: [{ plan }],
        // b and c wait until the root has been taken over by the next worker
        subtask: (p) => (p.includes('STEP-A') ? answer(p) : { ...answer(p), hold: release.promise }),
        compose: () => composed,
      });
      try {
        await spawnWorker(settings('chat-worker', ['chat']));
        const doomed = await spawnWorker(settings('doomed', ['plan']));
        const rootId = await enqueueRoot(q);
        await eventually(
          async () => model.count('subtask', 'STEP-B') === 1 && model.count('subtask', 'STEP-C') === 1,
          'b and c to run',
          60_000,
        );
        await doomed.kill9();
        await spawnWorker(settings('rescuer', ['plan']));
        await eventually(
          async () => {
            const d = await q.get(rootId);
            return d?.task.state === 'active' && d.attempts.length === 2;
          },
          'the next worker to take the root over',
          60_000,
        );
        release.open();
        await expectCompletedOnce(q, rootId, model);
        expect(model.count('plan')).toBe(1); // the recorded plan was reused
        expect(model.count('compose')).toBe(1);
      } finally {
        release.open();
      }
    }, 300_000);

    it('while its subtasks run in the same process: they run again, each still one task', async () => {
      const { q, settings } = await setup(backend);
      const never = gate();
      const asked = new Map<string, number>();
      const model = scriptPlanner(server, {
        plans: [{ plan }],
        // the first try of b and c never answers: the process dies with them
        subtask: (p) => {
          const step = /STEP-([A-Z])/.exec(p)?.[1] ?? '?';
          asked.set(step, (asked.get(step) ?? 0) + 1);
          return step !== 'A' && asked.get(step) === 1 ? { ...answer(p), hold: never.promise } : answer(p);
        },
        compose: () => composed,
      });
      try {
        const doomed = await spawnWorker(settings('doomed'));
        const rootId = await enqueueRoot(q);
        await eventually(
          async () => model.count('subtask', 'STEP-B') === 1 && model.count('subtask', 'STEP-C') === 1,
          'b and c to run',
          60_000,
        );
        await doomed.kill9();
        await spawnWorker(settings('rescuer'));
        await expectCompletedOnce(q, rootId, model, ['b', 'c']);
        expect(model.count('plan')).toBe(1);
        expect(model.count('compose')).toBe(1);
      } finally {
        never.open();
      }
    }, 300_000);

    it('during composing: the next worker reuses the recorded plan and results, and only composes again', async () => {
      const { q, settings } = await setup(backend);
      const never = gate();
      let composes = 0;
      const model = scriptPlanner(server, {
        plans: [{ plan }],
        subtask: answer,
        compose: () => (++composes === 1 ? { ...composed, hold: never.promise } : composed),
      });
      try {
        const doomed = await spawnWorker(settings('doomed'));
        const rootId = await enqueueRoot(q);
        await eventually(async () => model.count('compose') === 1, 'the compose request', 60_000);
        await doomed.kill9();
        await spawnWorker(settings('rescuer'));
        await expectCompletedOnce(q, rootId, model);
        expect(model.count('plan')).toBe(1); // never re-planned
        expect(model.count('compose')).toBe(2);
      } finally {
        never.open();
      }
    }, 300_000);
  });
}
