/**
 * A real June serving plans over the web: SQLite queue in a temp dir, the channel runtime, the web server
 * on a free port, and in-process workers serving plan roots (wrapped for delivery) and chat subtasks, the
 * model being the scripted OpenAI-compatible server (tests script the make_plan call; subtasks and the
 * composed answer come from its echo mode unless a test holds one back).
 */
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
import type { TaskQueue } from '../../src/tasks/types.js';
import { startWebServer, type WebServer } from '../../src/web/server.js';
import { nativeCalls } from '../helpers/fake-agent-scripts.js';
import {
  startFakeOpenAiServer,
  type FakeOpenAiServer,
  type RecordedBody,
} from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/speech-fixtures.js';
import { jsonHeaders } from './web-client.js';

export interface PlanningJune {
  config: JuneConfig;
  queue: TaskQueue;
  runtime: ChannelRuntime;
  web: WebServer;
  /** http://127.0.0.1:PORT */
  base: string;
  pool: WorkerPool;
  llm: FakeOpenAiServer;
  /** The planner's next make_plan answer. */
  scriptPlan(plan: Record<string, unknown>): void;
  /** Types `/plan REQUEST` as `token`'s web user; answers the plan's task id. */
  startPlan(token: string, request: string): Promise<string>;
  stop(): Promise<void>;
}

/** The planner's request: the one that offers the make_plan tool. */
export const asksForPlan = (b: RecordedBody) =>
  b.tools?.some((t) => t.function.name === 'make_plan') === true;

export async function startPlanningJune(
  overrides: Record<string, unknown> = {},
  /** The workers' capabilities (add 'code' with `sandbox: 'bubblewrap'` for code subtasks). */
  capabilities: string[] = ['chat', PLAN_RUN_CAPABILITY],
): Promise<PlanningJune> {
  const dir = await makeTempDir('june-web-plan-');
  const llm = await startFakeOpenAiServer();
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: dir,
      llm: 'openai',
      llmBaseUrl: llm.url,
      llmModel: 'june-test-model',
      httpHost: '127.0.0.1',
      httpPort: 0,
      planApprovalSubtasks: 10,
      planApprovalTokens: 10_000_000,
      planApprovalSeconds: 1_000_000,
      rateLimitPerMinute: 1000,
      rateLimitBurst: 1000,
      ...overrides,
    },
  });
  const logger = createLogger('silent');
  const queue = await openTaskQueue(config, { logger, retryBaseMs: 50, retryMaxMs: 200 });
  const registry = new HandlerRegistry();
  const runtime = await startChannelRuntime({ config, queue, logger, registry, adapters: [] });
  const web = await startWebServer({ config, queue, runtime, logger, heartbeatMs: 250 });
  const deps = { queue, config, logger, metrics: false as const, pollMs: 200 };
  registry.register(PLAN_RUN_KIND, PLAN_RUN_CAPABILITY, runtime.wrapPlanRun(createPlanRunHandler(deps)));
  await registerPlanSubtaskHandlers(registry, deps);
  const pool = await startWorkers({
    queue,
    config,
    registry,
    logger,
    metrics: false,
    capabilities,
    concurrency: 4,
    idlePollMs: 200,
    drainTimeoutMs: 5000,
  });
  const base = web.url.replace(/\/$/, '');
  return {
    config,
    queue,
    runtime,
    web,
    base,
    pool,
    llm,
    scriptPlan: (plan) => llm.enqueueWhen(asksForPlan, nativeCalls([{ name: 'make_plan', args: plan }])),
    async startPlan(token, request) {
      const res = await fetch(`${base}/v1/messages`, {
        method: 'POST',
        headers: jsonHeaders(token),
        body: JSON.stringify({ text: `/plan ${request}`, conversation: 'plans' }),
      });
      const body = (await res.json()) as { reply?: string };
      const id = /task ([^)]+)\)/.exec(body.reply ?? '')?.[1];
      if (res.status !== 200 || !id) throw new Error(`/plan answered ${res.status}: ${JSON.stringify(body)}`);
      return id;
    },
    async stop() {
      await web.close();
      await pool.stop();
      await runtime.stop();
      await queue.close();
      await llm.close();
    },
  };
}
