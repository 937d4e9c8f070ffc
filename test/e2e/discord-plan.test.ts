/**
 * A plan from a Discord DM approved with its button, end to end: the local Discord (REST + gateway) that
 * discord.js really connects to, June's channel runtime with the Discord adapter from the config, the
 * SQLite queue, workers serving plan roots and chat subtasks, the planner driven by the scripted
 * OpenAI-compatible model (make_plan scripted, the rest from the echo model). The plan comes with a
 * "Run the plan" button (a message component); pressing it is a component interaction, answered through
 * the interaction; the plan runs and its status message is edited to the end, then the answer follows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVE_BUTTON_LABEL } from '../../src/channels/plan-delivery.js';
import { PLAN_STATUS_PREFIX } from '../../src/channels/plan-status.js';
import { startChannelRuntime, type ChannelRuntime } from '../../src/channels/runtime.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import {
  createPlanRunHandler,
  PLAN_RUN_CAPABILITY,
  PLAN_RUN_KIND,
  registerPlanSubtaskHandlers,
  type PlanRunPayload,
  type PlanRunResult,
} from '../../src/planner/index.js';
import { HandlerRegistry } from '../../src/tasks/handlers.js';
import { openTaskQueue } from '../../src/tasks/open-queue.js';
import { startWorkers, type WorkerPool } from '../../src/tasks/runtime.js';
import { eventually } from '../../src/tasks/testing/eventually.js';
import type { TaskQueue } from '../../src/tasks/types.js';
import { nativeCalls } from '../helpers/fake-agent-scripts.js';
import {
  startFakeDiscordServer,
  type FakeDiscordServer,
  type FakeUser,
} from '../helpers/fake-discord-server.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/speech-fixtures.js';

const logger = createLogger('silent');

let discord: FakeDiscordServer;
let llm: FakeOpenAiServer;
let queue: TaskQueue;
let runtime: ChannelRuntime;
let workers: WorkerPool;
let alice: FakeUser;

const PLAN = {
  goal: 'Compare two notes',
  subtasks: [
    { id: 'facts', capability: 'chat', instructions: 'List the facts in note one', needs: [] },
    { id: 'draft', capability: 'chat', instructions: 'Draft the comparison', needs: ['facts'] },
  ],
};

beforeAll(async () => {
  const dir = await makeTempDir('june-discord-plan-');
  discord = await startFakeDiscordServer();
  llm = await startFakeOpenAiServer();
  alice = discord.user('alice');
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: dir,
      discordToken: discord.token,
      discordApiBase: discord.apiBase,
      allowUsers: [`discord:${alice.id}`],
      llmBaseUrl: llm.url,
      llmModel: 'june-test-model',
      agentStatusEditMs: 0,
      taskLeaseMs: 5000,
      planApprovalSubtasks: 1,
    },
  });
  queue = await openTaskQueue(config);
  const registry = new HandlerRegistry();
  runtime = await startChannelRuntime({ config, queue, logger, registry });
  const deps = { queue, config, logger, metrics: false as const, pollMs: 200 };
  registry.register(PLAN_RUN_KIND, PLAN_RUN_CAPABILITY, runtime.wrapPlanRun(createPlanRunHandler(deps)));
  await registerPlanSubtaskHandlers(registry, deps);
  workers = await startWorkers({
    queue,
    config,
    registry,
    logger,
    metrics: false,
    idlePollMs: 100,
    concurrency: 3,
    capabilities: ['chat', PLAN_RUN_CAPABILITY],
  });
});

afterAll(async () => {
  await workers?.stop();
  await runtime?.stop();
  await queue?.close();
  await llm?.close();
  await discord?.close();
});

describe('a plan from Discord', () => {
  it('is approved with its button and runs, editing one status message', async () => {
    const dm = discord.dmChannelId(alice);
    llm.enqueueWhen(
      (b) => b.tools?.some((t) => t.function.name === 'make_plan') === true,
      nativeCalls([{ name: 'make_plan', args: PLAN }]),
    );
    discord.sendDm(alice, '/plan compare my two notes');
    const shown = await discord.waitFor(
      () => discord.sent(dm).find((m) => Array.isArray(m.payload.components)),
      { timeoutMs: 60_000, what: 'the plan with its button' },
    );
    expect(shown.content).toContain('1. [chat] List the facts in note one');
    expect(shown.content).toContain('2. [chat] Draft the comparison (after 1)');
    const button = (shown.payload.components as { components: { label: string; custom_id: string }[] }[])[0]!
      .components[0]!;
    expect(button.label).toBe(APPROVE_BUTTON_LABEL);
    const waiting = (await queue.list({ limit: 100 })).find((t) => t.kind === PLAN_RUN_KIND)!;
    expect(button.custom_id).toBe(`go:${waiting.id}`);

    const press = discord.pressButton(alice, dm, shown.id, button.custom_id);
    const answer = await discord.waitFor(
      () => discord.sent(dm).find((m) => m.via === 'interaction' && m.interactionId === press.id),
      { what: 'the press answered through its interaction' },
    );
    expect(answer.content).toMatch(/^Approved: running the plan \(task /);
    const done = await eventually(
      async () =>
        (await queue.list({ limit: 100 })).find(
          (t) => t.kind === PLAN_RUN_KIND && t.state === 'completed' && t.id !== waiting.id,
        ),
      'the approved plan to complete',
      90_000,
    );
    expect(done.payload as PlanRunPayload).toMatchObject({ approvedFrom: waiting.id, approvedPlan: PLAN });
    const result = done.result as PlanRunResult;
    expect(result.status).toBe('completed');
    await discord.waitFor(
      () => discord.sent(dm).some((m) => m.content === result.answer.trim().slice(0, 2000)),
      { what: 'the answer' },
    );
    await discord.waitFor(
      () => discord.edits(dm).some((e) => e.content === `${PLAN_STATUS_PREFIX}done (2 of 2 done).`),
      { what: 'the final status' },
    );
  });
});
