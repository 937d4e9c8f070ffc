/**
 * kill -9 of the process running a task tree's root, with real processes: a worker process (plan + chat)
 * on the SQLite queue is killed while the root is planning, or while it is composing; a second worker
 * process takes the root over once its lease expires. The tree completes, and no subtask is enqueued or
 * run twice (the recorded plan is reused; children are found again by their idempotency keys).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../../test/helpers/fake-openai-server.js';
import { gate, scriptPlanner } from '../../test/helpers/fake-planner-model.js';
import { openSqliteQueue } from '../tasks/sqlite/sqlite-queue.js';
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
let base: string;
let n = 0;
beforeAll(async () => {
  server = await startFakeOpenAiServer();
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'june-planner-crash-'));
});
afterAll(async () => {
  await server.close();
  fs.rmSync(base, { recursive: true, force: true });
});
let queue: TaskQueue | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill9();
  await queue?.close();
  queue = undefined;
  server.reset();
});

async function setup(): Promise<{ q: TaskQueue; settings: (id: string) => PlannerTestWorkerSettings }> {
  const dir = path.join(base, `c${++n}`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'tasks.db');
  queue = await openSqliteQueue({ file, leaseMs: LEASE_MS, pollMs: 20 });
  return {
    q: queue,
    settings: (workerId) => ({ file, dataDir: dir, llmBaseUrl: server.url, leaseMs: LEASE_MS, workerId }),
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

/** The tree completed, each subtask is one task that ran one attempt, and the model saw each once. */
async function expectCompletedOnce(q: TaskQueue, rootId: string, model: ReturnType<typeof scriptPlanner>) {
  const root = await eventually(
    async () => {
      const d = await q.get(rootId);
      return d && ['completed', 'dead', 'cancelled'].includes(d.task.state) ? d : undefined;
    },
    'the tree to finish after the restart',
    90_000,
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
    expect(t.attempts).toBe(1);
  }
  for (const step of ['STEP-A', 'STEP-B', 'STEP-C']) expect(model.count('subtask', step)).toBe(1);
}

describe('kill -9 of the process running a task tree', () => {
  it('during planning: the next worker plans again and the tree completes once', async () => {
    const { q, settings } = await setup();
    const never = gate();
    const model = scriptPlanner(server, {
      plans: [{ plan, hold: never.promise }, { plan }],
      subtask: answer,
      compose: () => composed,
    });
    try {
      const doomed = await spawnWorker(settings('doomed'));
      const rootId = await q.enqueue({
        kind: PLAN_RUN_KIND,
        capability: PLAN_RUN_CAPABILITY,
        payload: { request: 'two steps' },
      });
      await eventually(async () => model.count('plan') === 1, 'the planning request', 60_000);
      await doomed.kill9();
      await spawnWorker(settings('rescuer'));
      await expectCompletedOnce(q, rootId, model);
      expect(model.count('plan')).toBe(2); // the lost planning was never recorded, so it ran again
      expect(model.count('compose')).toBe(1);
    } finally {
      never.open();
    }
  });

  it('during composing: the next worker reuses the recorded plan and results, and only composes again', async () => {
    const { q, settings } = await setup();
    const never = gate();
    let composes = 0;
    const model = scriptPlanner(server, {
      plans: [{ plan }],
      subtask: answer,
      compose: () => (++composes === 1 ? { ...composed, hold: never.promise } : composed),
    });
    try {
      const doomed = await spawnWorker(settings('doomed'));
      const rootId = await q.enqueue({
        kind: PLAN_RUN_KIND,
        capability: PLAN_RUN_CAPABILITY,
        payload: { request: 'two steps' },
      });
      await eventually(async () => model.count('compose') === 1, 'the compose request', 60_000);
      await doomed.kill9();
      await spawnWorker(settings('rescuer'));
      await expectCompletedOnce(q, rootId, model);
      expect(model.count('plan')).toBe(1); // never re-planned
      expect(model.count('compose')).toBe(2);
    } finally {
      never.open();
    }
  });
});
