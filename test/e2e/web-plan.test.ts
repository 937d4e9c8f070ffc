/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked field by field */
/**
 * A plan's task tree over HTTP and in the CLI, end to end: June's real web server, SQLite queue and workers
 * serving plan roots and chat subtasks, the planner driven by the scripted OpenAI-compatible server (the
 * make_plan call scripted, subtasks and the answer from the echo model). `/plan` typed on the web starts
 * a diamond plan; GET /v1/tasks/:id/tree shows the plan, each subtask's state, capability, needs and its
 * worker's steps, to the user who asked (404 to another user and for a task that is not a plan);
 * `june tasks tree ID` prints the same tree.
 */
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tasksCli from '../../src/cli/commands/tasks.js';
import { startChannelRuntime, type ChannelRuntime } from '../../src/channels/runtime.js';
import { loadConfig } from '../../src/config/load.js';
import type { JuneConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import {
  createPlanRunHandler,
  PLAN_RUN_CAPABILITY,
  PLAN_RUN_KIND,
  registerPlanSubtaskHandlers,
} from '../../src/planner/index.js';
import { HandlerRegistry } from '../../src/tasks/handlers.js';
import { openTaskQueue } from '../../src/tasks/open-queue.js';
import { startWorkers, type WorkerPool } from '../../src/tasks/runtime.js';
import { eventually } from '../../src/tasks/testing/eventually.js';
import type { TaskQueue } from '../../src/tasks/types.js';
import { startWebServer, type WebServer } from '../../src/web/server.js';
import { PlanTreeView } from '../../src/web/tree-schemas.js';
import { nativeCalls } from '../helpers/fake-agent-scripts.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/speech-fixtures.js';
import { bearer, jsonHeaders } from './web-client.js';

const ADMIN = 'plan-admin-token';
const ADA = 'plan-ada-token';
const BOB = 'plan-bob-token';

const DIAMOND = {
  goal: 'Compare two notes',
  subtasks: [
    { id: 'facts', capability: 'chat', instructions: 'List the facts in note one', needs: [] },
    { id: 'risks', capability: 'chat', instructions: 'List the risks in note two', needs: [] },
    { id: 'draft', capability: 'chat', instructions: 'Draft the comparison', needs: ['facts', 'risks'] },
  ],
};

let llm: FakeOpenAiServer;
let queue: TaskQueue;
let runtime: ChannelRuntime;
let web: WebServer;
let pool: WorkerPool;
let base: string;
let config: JuneConfig;

beforeAll(async () => {
  const dir = await makeTempDir('june-web-plan-');
  llm = await startFakeOpenAiServer();
  config = loadConfig({
    env: {},
    overrides: {
      dataDir: dir,
      llm: 'openai',
      llmBaseUrl: llm.url,
      llmModel: 'june-test-model',
      httpHost: '127.0.0.1',
      httpPort: 0,
      apiTokens: [`admin:${ADMIN}`, ADA, BOB],
      planApprovalSubtasks: 10,
      planApprovalTokens: 10_000_000,
      planApprovalSeconds: 1_000_000,
      rateLimitPerMinute: 1000,
      rateLimitBurst: 1000,
    },
  });
  const logger = createLogger('silent');
  queue = await openTaskQueue(config, { logger, retryBaseMs: 50, retryMaxMs: 200 });
  const registry = new HandlerRegistry();
  runtime = await startChannelRuntime({ config, queue, logger, registry, adapters: [] });
  web = await startWebServer({ config, queue, runtime, logger, heartbeatMs: 250 });
  const deps = { queue, config, logger, metrics: false as const, pollMs: 200 };
  registry.register(PLAN_RUN_KIND, PLAN_RUN_CAPABILITY, runtime.wrapPlanRun(createPlanRunHandler(deps)));
  await registerPlanSubtaskHandlers(registry, deps);
  pool = await startWorkers({
    queue,
    config,
    registry,
    logger,
    metrics: false,
    capabilities: ['chat', PLAN_RUN_CAPABILITY],
    concurrency: 4,
    idlePollMs: 200,
    drainTimeoutMs: 5000,
  });
  base = web.url.replace(/\/$/, '');
});

afterAll(async () => {
  await web?.close();
  await pool?.stop();
  await runtime?.stop();
  await queue?.close();
  await llm?.close();
});

async function get(token: string, url: string) {
  const res = await fetch(`${base}${url}`, { headers: bearer(token) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** `june tasks <args>` on this queue; what it printed. */
async function june(...args: string[]): Promise<string> {
  let out = '';
  const program = new Command('june').exitOverride();
  tasksCli.register(program, {
    out: (t) => (out += t),
    // a second connection to the same SQLite queue, as the CLI opens one beside a running June
    openQueue: () => openTaskQueue(config, { logger: createLogger('silent') }),
    untilStopped: async () => undefined,
  });
  await program.parseAsync(['node', 'june', 'tasks', ...args]);
  return out;
}

describe('a plan tree', () => {
  it('is shown by GET /v1/tasks/:id/tree to its user and by june tasks tree', async () => {
    llm.enqueueWhen(
      (b) => b.tools?.some((t) => t.function.name === 'make_plan') === true,
      nativeCalls([{ name: 'make_plan', args: DIAMOND }]),
    );
    const res = await fetch(`${base}/v1/messages`, {
      method: 'POST',
      headers: jsonHeaders(ADA),
      body: JSON.stringify({ text: '/plan compare my two notes', conversation: 'plans' }),
    });
    expect(res.status).toBe(200);
    const reply = ((await res.json()) as { reply: string }).reply;
    const id = /task ([^)]+)\)/.exec(reply)?.[1];
    expect(id, reply).toBeDefined();

    const tree = await eventually(
      async () => {
        const r = await get(ADA, `/v1/tasks/${id}/tree`);
        return r.status === 200 && r.body.root.state === 'completed' ? r.body : undefined;
      },
      'the tree of the completed plan',
      90_000,
    );
    expect(PlanTreeView.safeParse(tree).success).toBe(true);
    expect(tree.root).toMatchObject({ id, request: 'compare my two notes', status: 'completed' });
    expect(tree.plan).toMatchObject({ goal: 'Compare two notes' });
    expect(tree.subtasks.map((s: any) => [s.subtaskId, s.capability, s.state, s.needs])).toEqual([
      ['facts', 'chat', 'completed', []],
      ['risks', 'chat', 'completed', []],
      ['draft', 'chat', 'completed', ['facts', 'risks']],
    ]);
    for (const s of tree.subtasks) {
      expect(typeof s.taskId).toBe('string');
      expect(s.steps.length).toBeGreaterThan(0);
    }

    // another user, and a task that is not a plan
    expect((await get(BOB, `/v1/tasks/${id}/tree`)).status).toBe(404);
    expect((await get(ADMIN, `/v1/tasks/${id}/tree`)).status).toBe(200);
    const child = tree.subtasks[0].taskId as string;
    expect((await get(ADMIN, `/v1/tasks/${child}/tree`)).status).toBe(404);

    const printed = await june('tree', id!);
    expect(printed).toContain(`plan ${id}  completed (completed)`);
    expect(printed).toContain('request: compare my two notes');
    expect(printed).toContain('goal: Compare two notes');
    expect(printed).toMatch(/├─ facts \[chat\] {2}completed {2}task \S+/);
    expect(printed).toMatch(/└─ draft \[chat\] {2}completed {2}task \S+ {2}needs: facts, risks/);
    expect(printed).toMatch(/step 1: /);
    expect(JSON.parse(await june('tree', id!, '--json'))).toEqual(tree);
    await expect(june('tree', child)).rejects.toThrow(/not a plan/);
  });
});
