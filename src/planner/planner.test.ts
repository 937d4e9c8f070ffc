/**
 * Task trees end to end on the real backbone: each queue backend (SQLite, BullMQ on a real redis-server;
 * the code and browse subtasks on SQLite only), real workers (startWorkers) serving
 * plan, chat and code, the OpenAI-compatible fake server answering as a scripted model (plans as make_plan
 * tool calls), and real bubblewrap for the code subtask. Covers the diamond graph (parallel branches, results
 * flowing into the subtask that needs them), a failing child (one re-plan, then a partial answer), invalid
 * plans (corrected once, or rejected), approval, the limits, and cancelling a tree with a running agent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nativeCalls } from '../../test/helpers/fake-agent-scripts.js';
import { OTTER_FACT, startLocalWebSite } from '../../test/helpers/local-web-site.js';
import { closeBrowse, registerBrowseHandler } from '../browse/handler.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../../test/helpers/fake-openai-server.js';
import { gate, scriptPlanner, type PlannerScript } from '../../test/helpers/fake-planner-model.js';
import { loadConfig } from '../config/load.js';
import type { JuneConfigInput } from '../config/schema.js';
import { createLogger } from '../observability/logger.js';
import { OpenAiLanguageModel } from '../providers/llm/openai.js';
import { checkBubblewrap } from '../sandbox/factory.js';
import { HandlerRegistry } from '../tasks/handlers.js';
import { startWorkers, type WorkerPool } from '../tasks/runtime.js';
import { testBackends, type TestBackend } from '../tasks/testing/backends.js';
import { eventually } from '../tasks/testing/eventually.js';
import type { TaskDetail, TaskQueue } from '../tasks/types.js';
import {
  approvalIdempotencyKey,
  PLAN_RUN_CAPABILITY,
  PLAN_RUN_KIND,
  type Plan,
  type PlanRunPayload,
  type PlanRunResult,
} from './contract.js';
import { treeDir } from './deps.js';
import { plannerMetrics } from './metrics.js';
import { createPlanRunHandler } from './run.js';
import { registerPlanSubtaskHandlers } from './subtasks.js';
import { cancelTree, planTree } from './tree.js';

const bwrap = await checkBubblewrap();
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const logger = createLogger('silent');

let server: FakeOpenAiServer;
let base: string;
beforeAll(async () => {
  server = await startFakeOpenAiServer();
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'june-planner-'));
});
afterAll(async () => {
  await server.close();
  fs.rmSync(base, { recursive: true, force: true });
});

interface Harness {
  queue: TaskQueue;
  pool: WorkerPool;
  metrics: Registry;
  dataDir: string;
  run(payload: PlanRunPayload, key?: string): Promise<string>;
  settled(id: string, timeoutMs?: number): Promise<TaskDetail>;
  result(id: string): Promise<PlanRunResult>;
}

let current: Harness | undefined;
let testNo = 0;
afterEach(async () => {
  await closeBrowse();
  await current?.pool.stop();
  await current?.queue.close();
  current = undefined;
  server.reset();
});

async function makeHarness(
  backend: TestBackend,
  overrides: Partial<JuneConfigInput> = {},
  code = false,
  browse = false,
): Promise<Harness> {
  const dataDir = path.join(base, `t${++testNo}`);
  const config = loadConfig({
    env: {},
    file: undefined,
    overrides: { dataDir, sandbox: 'bubblewrap', llmMaxTokens: 512, ...overrides },
  });
  const queue = await backend.open({ retryBaseMs: 20 });
  const model = new OpenAiLanguageModel({ baseUrl: server.url, model: 'm', retries: 0 });
  const metrics = new Registry();
  const deps = { queue, config, logger, llm: model, metrics: plannerMetrics(metrics), pollMs: 200 };
  const registry = new HandlerRegistry();
  registry.register(PLAN_RUN_KIND, PLAN_RUN_CAPABILITY, createPlanRunHandler(deps), { waitsForTasks: true });
  const kinds = await registerPlanSubtaskHandlers(registry, deps);
  if (code) expect(kinds).toContain('plan.code');
  if (browse) registerBrowseHandler(registry, { config, logger, model: async () => model, queue });
  const pool = await startWorkers({
    config,
    queue,
    logger,
    registry,
    capabilities: ['plan', 'chat', ...(code ? ['code'] : []), ...(browse ? ['browse'] : [])],
    concurrency: 4,
    leaseMs: 3000,
    metrics: false,
  });
  const h: Harness = {
    queue,
    pool,
    metrics,
    dataDir,
    run: (payload, key) =>
      queue.enqueue({
        kind: PLAN_RUN_KIND,
        capability: PLAN_RUN_CAPABILITY,
        payload,
        ...(key ? { idempotencyKey: key } : {}),
      }),
    settled: (id, timeoutMs = 60_000) =>
      eventually(
        async () => {
          const d = await queue.get(id);
          return d && ['completed', 'dead', 'cancelled'].includes(d.task.state) ? d : undefined;
        },
        `task ${id} to settle`,
        timeoutMs,
      ),
    result: async (id) => {
      const d = await h.settled(id);
      expect(d.task.state, JSON.stringify(d.task.error)).toBe('completed');
      return d.task.result as PlanRunResult;
    },
  };
  current = h;
  return h;
}

const chat = (id: string, instructions: string, needs: string[] = [], inputs?: Record<string, string>) => ({
  id,
  capability: 'chat',
  instructions,
  needs,
  ...(inputs ? { inputs } : {}),
});

const composeJson = (prompt: string) => ({
  text: JSON.stringify({
    answer: `Composed from: ${[...prompt.matchAll(/result-[A-Z0-9]+/g)].map((m) => m[0]).join(', ')}`,
    summary: 'All done.',
  }),
});

const subtaskTasks = async (q: TaskQueue) =>
  (await q.list({ limit: 1000 })).filter((t) => t.kind !== PLAN_RUN_KIND);

async function metricValue(
  reg: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  const values = (m?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((n, v) => n + v.value, 0);
}

const backends = testBackends();
const sqlite = backends.find((b) => b.name === 'sqlite')!;

for (const backend of backends) {
  describe(`a task tree on real workers (${backend.name})`, () => {
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());
    const harness = (overrides: Partial<JuneConfigInput> = {}) => makeHarness(backend, overrides);

    it('runs a diamond plan: b and c in parallel after a, d gets both results, one answer composed', async () => {
      const h = await harness();
      const both = gate();
      const seen = new Set<string>();
      const arrived = (id: string) => {
        seen.add(id);
        if (seen.has('B') && seen.has('C')) both.open();
      };
      const script: PlannerScript = {
        plans: [
          {
            plan: {
              goal: 'Research and summarise',
              subtasks: [
                chat('a', 'STEP-A find the bills', [], { topic: 'environment' }),
                chat('b', 'STEP-B read the first bill', ['a']),
                chat('c', 'STEP-C read the second bill', ['a']),
                chat('d', 'STEP-D draft comments', ['b', 'c']),
              ],
            },
          },
        ],
        subtask: (prompt) => {
          if (prompt.includes('STEP-A')) return { text: 'result-A: two bills' };
          // b and c each wait until the other has asked too: they can only finish if they run at once
          if (prompt.includes('STEP-B')) {
            arrived('B');
            return { text: 'result-B: bill one is about rivers', hold: both.promise };
          }
          if (prompt.includes('STEP-C')) {
            arrived('C');
            return { text: 'result-C: bill two is about air', hold: both.promise };
          }
          return {
            text: `result-D: comments on ${prompt.includes('result-B') && prompt.includes('result-C') ? 'both' : 'one'}`,
          };
        },
        compose: composeJson,
      };
      const model = scriptPlanner(server, script);
      const id = await h.run({ request: 'research the upcoming bills and draft comments' });
      const r = await h.result(id);

      expect(r.status).toBe('completed');
      expect(r.answer).toBe('Composed from: result-A, result-B, result-C, result-D');
      expect(r.summary).toBe('All done.');
      expect(r.subtasks.map((s) => [s.id, s.state])).toEqual([
        ['a', 'completed'],
        ['b', 'completed'],
        ['c', 'completed'],
        ['d', 'completed'],
      ]);
      // d's prompt carried b's and c's results; a's literal inputs reached a
      const dPrompt = model.seen.find((s) => s.kind === 'subtask' && s.user.includes('STEP-D'))!.user;
      expect(dPrompt).toContain('result-B: bill one is about rivers');
      expect(dPrompt).toContain('result-C: bill two is about air');
      expect(model.seen.find((s) => s.user.includes('STEP-A'))!.user).toContain('topic: environment');
      expect(model.count('plan')).toBe(1);
      for (const step of ['STEP-A', 'STEP-B', 'STEP-C', 'STEP-D'])
        expect(model.count('subtask', step)).toBe(1);
      expect(model.count('compose')).toBe(1);

      const children = await subtaskTasks(h.queue);
      expect(children.map((t) => t.idempotencyKey).sort()).toEqual([
        `${id}:a`,
        `${id}:b`,
        `${id}:c`,
        `${id}:d`,
      ]);

      const root = (await h.queue.get(id))!;
      const stages = root.timeline.filter((e) => e.type === 'progress').map((e) => e.stage);
      expect(stages[0]).toBe('planning');
      expect(stages).toContain('plan');
      expect(stages.at(-1)).toBe('composing');

      const tree = (await planTree(h.queue, id))!;
      expect(tree.root).toMatchObject({ id, state: 'completed', status: 'completed' });
      expect(tree.subtasks.map((s) => [s.subtaskId, s.state, s.needs])).toEqual([
        ['a', 'completed', []],
        ['b', 'completed', ['a']],
        ['c', 'completed', ['a']],
        ['d', 'completed', ['b', 'c']],
      ]);
      expect(tree.subtasks[0]!.steps).toEqual([{ step: 1, activity: 'writing the answer' }]);

      expect(await metricValue(h.metrics, 'planner_plans_total', { size: '4-6' })).toBe(1);
      expect(
        await metricValue(h.metrics, 'planner_subtasks_total', { capability: 'chat', outcome: 'completed' }),
      ).toBe(4);
      expect(
        await metricValue(h.metrics, 'planner_tree_duration_seconds', { status: 'completed' }),
      ).toBeGreaterThan(0);
    });

    it('re-plans once when a child dies, then answers with what succeeded and says what did not', async () => {
      const h = await harness();
      const model = scriptPlanner(server, {
        plans: [
          {
            plan: {
              goal: 'Two things',
              subtasks: [chat('ok', 'STEP-OK do the easy part'), chat('bad', 'STEP-FAIL the hard part')],
            },
          },
          {
            plan: {
              goal: 'The hard part again',
              subtasks: [chat('bad2', 'STEP-FAIL the hard part another way')],
            },
          },
          { plan: { goal: 'never asked', subtasks: [chat('x', 'STEP-X')] } },
        ],
        subtask: (prompt) =>
          prompt.includes('STEP-FAIL')
            ? { status: 400, message: 'this step cannot work' }
            : { text: 'result-OK' },
        compose: composeJson,
      });
      const id = await h.run({ request: 'do two things' });
      const r = await h.result(id);

      expect(r.status).toBe('partial');
      expect(model.count('plan')).toBe(2); // the first plan and one re-plan, never a third
      const replan = model.seen.filter((s) => s.kind === 'plan')[1]!.user;
      expect(replan).toContain('ok succeeded: result-OK');
      expect(replan).toMatch(/bad failed: /);
      expect(r.answer).toContain('Composed from: result-OK');
      expect(r.answer).toMatch(/Not done: bad \(STEP-FAIL the hard part\)/);
      expect(r.answer).toMatch(/Not done: r1:bad2 /);
      expect(r.subtasks.map((s) => [s.id, s.state])).toEqual([
        ['ok', 'completed'],
        ['bad', 'dead'],
        ['r1:bad2', 'dead'],
      ]);
      const keys = (await subtaskTasks(h.queue)).map((t) => t.idempotencyKey).sort();
      expect(keys).toEqual([`${id}:bad`, `${id}:ok`, `${id}:r1:bad2`]);
      const tree = (await planTree(h.queue, id))!;
      expect(tree.revision).toBe(1);
      expect(tree.subtasks.map((s) => s.subtaskId)).toEqual(['ok', 'bad', 'r1:bad2']);
      expect(await metricValue(h.metrics, 'planner_replans_total')).toBe(1);
      expect(await metricValue(h.metrics, 'planner_subtasks_total', { outcome: 'dead' })).toBe(2);
    });

    it('sends a cyclic plan back once with the error and runs the corrected one', async () => {
      const h = await harness();
      const model = scriptPlanner(server, {
        plans: [
          { plan: { goal: 'loop', subtasks: [chat('a', 'STEP-A', ['b']), chat('b', 'STEP-B', ['a'])] } },
          { plan: { goal: 'fixed', subtasks: [chat('a', 'STEP-A'), chat('b', 'STEP-B', ['a'])] } },
        ],
        subtask: (p) => ({ text: p.includes('STEP-B') ? 'result-B' : 'result-A' }),
        compose: composeJson,
      });
      const r = await h.result(await h.run({ request: 'two steps' }));
      expect(r.status).toBe('completed');
      const second = model.seen.filter((s) => s.kind === 'plan')[1]!.body.messages!;
      const feedback = second.find((m) => m.role === 'tool')!;
      expect(String(feedback.content)).toMatch(
        /The plan has a cycle: a needs b needs a; subtasks cannot need each other in a loop\./,
      );
      expect(r.plan?.goal).toBe('fixed');
    });

    it('reads a plan written as Hermes <tool_call> tags, and one written as JSON in the text', async () => {
      const h = await harness();
      const one = { goal: 'One', subtasks: [chat('a', 'STEP-A')] };
      const model = scriptPlanner(server, {
        plans: [
          { text: `<tool_call>\n${JSON.stringify({ name: 'make_plan', arguments: one })}\n</tool_call>` },
          { text: `Here is the plan:\n\`\`\`json\n${JSON.stringify(one)}\n\`\`\`` },
        ],
        subtask: () => ({ text: 'result-A' }),
        compose: composeJson,
      });
      for (let i = 0; i < 2; i++) {
        const r = await h.result(await h.run({ request: `one step ${i}` }));
        expect(r.status).toBe('completed');
        expect(r.answer).toBe('Composed from: result-A');
      }
      expect(model.count('plan')).toBe(2); // each accepted at the first try
    });

    it('rejects a plan that stays invalid, with a clear reply and no subtask', async () => {
      const h = await harness();
      const cyclic = {
        plan: { goal: 'loop', subtasks: [chat('a', 'STEP-A', ['b']), chat('b', 'STEP-B', ['a'])] },
      };
      const model = scriptPlanner(server, { plans: [cyclic, cyclic] });
      const r = await h.result(await h.run({ request: 'two steps' }));
      expect(r.status).toBe('rejected');
      expect(r.answer).toMatch(/^I could not make a workable plan for this: The plan has a cycle/);
      expect(model.count('plan')).toBe(2);
      expect(await subtaskTasks(h.queue)).toEqual([]);
    });

    it('asks for approval over the cost, then runs the approved plan without planning again', async () => {
      const h = await harness({ planApprovalSubtasks: 1 });
      const model = scriptPlanner(server, {
        plans: [{ plan: { goal: 'Big', subtasks: [chat('a', 'STEP-A'), chat('b', 'STEP-B', ['a'])] } }],
        subtask: (p) => ({ text: p.includes('STEP-B') ? 'result-B' : 'result-A' }),
        compose: composeJson,
      });
      const first = await h.run({ request: 'a big job' });
      const ask = await h.result(first);
      expect(ask.status).toBe('awaiting-approval');
      expect(ask.answer).toMatch(/^This plan needs your approval \(2 steps/);
      expect(await subtaskTasks(h.queue)).toEqual([]);
      const planEvent = (await h.queue.get(first))!.timeline.find((e) => e.stage === 'plan')!;
      expect(planEvent.data).toMatchObject({ revision: 0, needsApproval: true, cost: { subtasks: 2 } });

      const go = await h.run(
        { request: 'a big job', approvedPlan: ask.plan as Plan, approvedFrom: first },
        approvalIdempotencyKey(first),
      );
      const r = await h.result(go);
      expect(r.status).toBe('completed');
      expect(r.answer).toBe('Composed from: result-A, result-B');
      expect(model.count('plan')).toBe(1); // approving did not ask for a new plan
      expect(await metricValue(h.metrics, 'planner_plans_total', { approval: 'asked' })).toBe(1);
      expect(await metricValue(h.metrics, 'planner_plans_total', { approval: 'approved' })).toBe(1);
    });

    it('stops at the token limit, says so, and does not start what remains', async () => {
      const h = await harness({ planMaxTokens: 1000 });
      const model = scriptPlanner(server, {
        plans: [{ plan: { goal: 'Chain', subtasks: [chat('a', 'STEP-A'), chat('b', 'STEP-B', ['a'])] } }],
        subtask: () => ({ text: 'result-A', usage: [900, 100] }),
      });
      const r = await h.result(await h.run({ request: 'chain' }));
      expect(r.status).toBe('partial');
      expect(r.limitHit).toBe(
        'The task used more than its limit of 1000 tokens (JUNE_PLAN_MAX_TOKENS), so what was unfinished was stopped.',
      );
      expect(r.answer).toContain(r.limitHit);
      expect(r.subtasks.map((s) => [s.id, s.state])).toEqual([
        ['a', 'completed'],
        ['b', 'skipped'],
      ]);
      expect(model.count('subtask')).toBe(1);
      expect(model.count('compose')).toBe(0);
      expect(await metricValue(h.metrics, 'planner_limits_hit_total', { limit: 'tokens' })).toBe(1);
    });

    it('does not re-plan when the subtask limit is used up, and says so', async () => {
      const h = await harness({ planMaxSubtasks: 2 });
      const model = scriptPlanner(server, {
        plans: [{ plan: { goal: 'Two', subtasks: [chat('ok', 'STEP-OK'), chat('bad', 'STEP-FAIL')] } }],
        subtask: (p) =>
          p.includes('STEP-FAIL') ? { status: 400, message: 'no way' } : { text: 'result-OK' },
        compose: composeJson,
      });
      const r = await h.result(await h.run({ request: 'two' }));
      expect(r.status).toBe('partial');
      expect(r.limitHit).toBe(
        'The task reached its limit of 2 subtasks (JUNE_PLAN_MAX_SUBTASKS), so the failed part was not planned again.',
      );
      expect(model.count('plan')).toBe(1);
      expect(r.answer).toMatch(/^Composed from: result-OK\n\n/);
      expect(r.answer).toContain(r.limitHit);
      expect(r.answer).toMatch(/Not done: bad \(STEP-FAIL\): /);
      expect(await metricValue(h.metrics, 'planner_limits_hit_total', { limit: 'subtasks' })).toBe(1);
    });

    it('refuses a plan deeper than the depth limit with the limit in its reply', async () => {
      const h = await harness({ planMaxDepth: 2 });
      const deep = {
        plan: { goal: 'Deep', subtasks: [chat('a', 'A'), chat('b', 'B', ['a']), chat('c', 'C', ['b'])] },
      };
      scriptPlanner(server, { plans: [deep, deep] });
      const r = await h.result(await h.run({ request: 'deep' }));
      expect(r.status).toBe('rejected');
      expect(r.limitHit).toBe("The plan's longest chain of subtasks is 3 long; at most 2 are allowed.");
      expect(await metricValue(h.metrics, 'planner_limits_hit_total', { limit: 'depth' })).toBe(1);
    });

    it('cancels its children itself when only the root is cancelled', async () => {
      const h = await harness();
      const never = gate();
      scriptPlanner(server, {
        plans: [{ plan: { goal: 'Wait', subtasks: [chat('w', 'STEP-WAIT')] } }],
        subtask: () => ({ text: 'never sent', hold: never.promise }),
      });
      try {
        const id = await h.run({ request: 'wait' });
        const child = await eventually(
          async () => (await subtaskTasks(h.queue)).find((t) => t.state === 'active'),
          'the subtask to run',
        );
        expect(await h.queue.cancel(id)).toBe(true); // the root alone, as the queue's cancel does
        expect((await h.settled(id)).task.state).toBe('cancelled');
        expect((await h.settled(child.id)).task.state).toBe('cancelled');
      } finally {
        never.open();
      }
    });

    it('cancelTree cancels the root and its running child, and the tree view shows both cancelled', async () => {
      const h = await harness();
      const never = gate();
      scriptPlanner(server, {
        plans: [{ plan: { goal: 'Wait', subtasks: [chat('w', 'STEP-WAIT')] } }],
        subtask: () => ({ text: 'never sent', hold: never.promise }),
      });
      try {
        const id = await h.run({ request: 'wait' });
        const childId = await eventually(async () => {
          const s = (await planTree(h.queue, id))?.subtasks[0];
          return s?.state === 'active' ? s.taskId : undefined;
        }, 'the subtask to run');
        expect(await cancelTree(h.queue, id)).toBe(2);
        expect((await h.settled(id)).task.state).toBe('cancelled');
        expect((await h.settled(childId)).task.state).toBe('cancelled');
        const tree = (await planTree(h.queue, id))!;
        expect(tree.root.state).toBe('cancelled');
        expect(tree.subtasks.map((s) => [s.subtaskId, s.state])).toEqual([['w', 'cancelled']]);
        expect(await subtaskTasks(h.queue)).toHaveLength(1);
      } finally {
        never.open();
      }
    });

    it('stops a tree at its time limit and cancels the child still running', async () => {
      const h = await harness({ planMaxSeconds: 10 });
      const never = gate();
      scriptPlanner(server, {
        plans: [{ plan: { goal: 'Slow', subtasks: [chat('slow', 'STEP-SLOW')] } }],
        subtask: () => ({ text: 'too late', hold: never.promise }),
      });
      try {
        const id = await h.run({ request: 'slow' });
        const r = await h.result(id);
        expect(r.status).toBe('failed');
        expect(r.limitHit).toBe(
          'The task took longer than its limit of 10 seconds (JUNE_PLAN_MAX_SECONDS), so what was unfinished was stopped.',
        );
        expect(r.summary).toMatch(/^The task took longer than its limit of 10 seconds/);
        expect(r.answer).toContain('Not done: slow (STEP-SLOW): stopped by the limit.');
        const child = (await subtaskTasks(h.queue))[0]!;
        expect((await h.settled(child.id)).task.state).toBe('cancelled');
      } finally {
        never.open();
      }
    });
  });
}

// The code and browse subtasks run on SQLite only: the agent and the browser are the same on both backends,
// and the tree around them is covered on each backend above.
describe.skipIf(!bwrap.ok)('code subtasks in a tree (bubblewrap)', () => {
  beforeAll(() => sqlite.setup());
  afterAll(() => sqlite.teardown());
  it('runs a code subtask in the tree workspace, hands its files to the answer and removes the workspace', async () => {
    const h = await makeHarness(sqlite, {}, true);
    scriptPlanner(server, {
      plans: [
        {
          plan: {
            goal: 'Script',
            subtasks: [
              { id: 'code', capability: 'code', instructions: 'STEP-CODE write hi.sh', needs: [] },
              chat('tell', 'STEP-TELL say what was written', ['code']),
            ],
          },
        },
      ],
      agent: [
        nativeCalls([{ name: 'write_file', args: { path: 'hi.sh', content: 'echo hi\n' } }]),
        nativeCalls([{ name: 'execute_command', args: { command: 'sh hi.sh' } }]),
        nativeCalls([{ name: 'finish', args: { summary: 'result-CODE: wrote hi.sh, it prints hi' } }]),
      ],
      subtask: (p) => ({ text: p.includes('result-CODE') ? 'result-TELL' : 'no code result' }),
      compose: composeJson,
    });
    const id = await h.run({ request: 'write me a script that says hi' });
    const r = await h.result(id);
    expect(r.status).toBe('completed');
    expect(r.answer).toBe('Composed from: result-CODE, result-TELL');
    const filesDir = path.join(treeDir(h.dataDir, id), 'files', 'code');
    expect(r.files).toEqual([{ name: 'hi.sh', path: path.join(filesDir, 'hi.sh') }]);
    expect(fs.readFileSync(r.files[0]!.path, 'utf8')).toBe('echo hi\n');
    expect(fs.existsSync(path.join(treeDir(h.dataDir, id), 'work'))).toBe(false);
    const tree = (await planTree(h.queue, id))!;
    expect(tree.subtasks[0]!.steps.map((s) => s.activity)).toContain('running: sh hi.sh');
  });

  it('cancels the root and the code subtask, stops the agent and removes its workspace', async () => {
    const h = await makeHarness(sqlite, {}, true);
    scriptPlanner(server, {
      plans: [
        {
          plan: {
            goal: 'Code',
            subtasks: [{ id: 'code', capability: 'code', instructions: 'STEP-CODE', needs: [] }],
          },
        },
      ],
      agent: [
        nativeCalls([{ name: 'write_file', args: { path: 'notes.txt', content: 'hello\n' } }]),
        nativeCalls([{ name: 'execute_command', args: { command: 'sleep 120' } }]),
      ],
    });
    const id = await h.run({ request: 'improve the logging' });
    const tree = await eventually(
      async () => {
        const t = await planTree(h.queue, id);
        const s = t?.subtasks[0];
        return s?.activity?.startsWith('running: sleep') ? t : undefined;
      },
      'the agent to run its command',
      60_000,
    );
    const childId = tree.subtasks[0]!.taskId!;
    const work = path.join(treeDir(h.dataDir, id), 'work');
    expect(fs.existsSync(work)).toBe(true);

    expect(await cancelTree(h.queue, id)).toBe(2);
    expect((await h.settled(id)).task.state).toBe('cancelled');
    expect((await h.settled(childId)).task.state).toBe('cancelled');
    await eventually(async () => !fs.existsSync(work), 'the tree workspace to be removed', 30_000);
    await eventually(async () => h.pool.activeTaskIds().length === 0, 'the workers to be idle', 30_000);
  });
});

describe.skipIf(!haveChromium)('a tree with a browse subtask (real Chromium, local web site)', () => {
  beforeAll(() => sqlite.setup());
  afterAll(() => sqlite.teardown());
  it('reads a page in the browse subtask and hands what it found to the chat subtask that needs it', async () => {
    const site = await startLocalWebSite();
    try {
      const h = await makeHarness(
        sqlite,
        { browseAllowPrivate: true, browsePageTimeoutMs: 30_000 },
        false,
        true,
      );
      const url = `${site.origin}/otters`;
      const model = scriptPlanner(server, {
        plans: [
          {
            plan: {
              goal: 'Otter facts',
              subtasks: [
                {
                  id: 'web',
                  capability: 'browse',
                  instructions: 'Find how long otters hold their breath',
                  inputs: { url },
                  needs: [],
                },
                chat('write', 'STEP-WRITE a short note', ['web']),
              ],
            },
          },
        ],
        browse: [
          nativeCalls([{ name: 'open_url', args: { url } }]),
          nativeCalls([{ name: 'finish', args: { answer: `result-WEB: ${OTTER_FACT} (${url})` } }]),
        ],
        subtask: (p) => ({
          text: p.includes(OTTER_FACT) ? 'result-WRITE with the fact' : 'result-WRITE without',
        }),
        compose: composeJson,
      });
      const id = await h.run({ request: 'how long can otters hold their breath?' });
      const r = await h.result(id);
      expect(r.status).toBe('completed');
      expect(r.subtasks.map((s) => [s.id, s.capability, s.state])).toEqual([
        ['web', 'browse', 'completed'],
        ['write', 'chat', 'completed'],
      ]);
      // the browser really read the page: the page text went back to the browse worker's model
      const browseRequests = model.seen.filter((s) => s.kind === 'browse');
      expect(browseRequests).toHaveLength(2);
      expect(JSON.stringify(browseRequests[1]!.body.messages)).toContain(OTTER_FACT);
      expect(site.requests.some((q) => q.path === '/otters')).toBe(true);
      expect(model.seen.find((s) => s.kind === 'subtask')!.user).toContain(OTTER_FACT);
      expect(r.answer).toBe('Composed from: result-WEB, result-WRITE');
      const tree = (await planTree(h.queue, id))!;
      expect(tree.subtasks[0]!.steps.length).toBeGreaterThan(0);
    } finally {
      await site.close();
    }
  });
});
