/**
 * A worker process for the planner's kill -9 tests: `node --import tsx src/planner/testing/worker-entry.ts`
 * with its settings as JSON in JUNE_PLANNER_TEST_WORKER. It serves plan.run and plan.chat (or the
 * capabilities it is given) on the SQLite or BullMQ queue with the model at `llmBaseUrl` (the test's fake
 * server), prints "ready", then one line per settled attempt, until it is killed.
 */
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../observability/logger.js';
import { HandlerRegistry } from '../../tasks/handlers.js';
import { startWorkers } from '../../tasks/runtime.js';
import type { TaskQueue } from '../../tasks/types.js';
import { PLAN_RUN_CAPABILITY, PLAN_RUN_KIND } from '../contract.js';
import { createPlanRunHandler } from '../run.js';
import { registerPlanSubtaskHandlers } from '../subtasks.js';

export interface PlannerTestWorkerSettings {
  backend: 'sqlite' | 'bullmq';
  /** The SQLite file (sqlite). */
  file?: string;
  /** Redis URL and key prefix (bullmq). */
  url?: string;
  prefix?: string;
  /** Default: plan and chat. */
  capabilities?: string[];
  dataDir: string;
  llmBaseUrl: string;
  leaseMs: number;
  workerId: string;
}

const settings = JSON.parse(process.env.JUNE_PLANNER_TEST_WORKER ?? '{}') as PlannerTestWorkerSettings;
const logger = createLogger(process.env.JUNE_LOG_LEVEL ?? 'silent');
const config = loadConfig({
  env: {},
  file: undefined,
  overrides: {
    dataDir: settings.dataDir,
    llm: 'openai',
    llmBaseUrl: settings.llmBaseUrl,
    llmModel: 'm',
    llmRetries: 0,
    sandbox: 'none',
  },
});
let queue: TaskQueue;
if (settings.backend === 'bullmq') {
  const { openBullmqQueue } = await import('../../tasks/bullmq/bullmq-queue.js');
  queue = await openBullmqQueue({
    url: settings.url!,
    prefix: settings.prefix,
    leaseMs: settings.leaseMs,
    retryBaseMs: 50,
    logger,
  });
} else {
  const { openSqliteQueue } = await import('../../tasks/sqlite/sqlite-queue.js');
  queue = await openSqliteQueue({
    file: settings.file!,
    leaseMs: settings.leaseMs,
    retryBaseMs: 50,
    pollMs: 20,
  });
}
const deps = { queue, config, logger, metrics: false as const, pollMs: 200 };
const registry = new HandlerRegistry();
registry.register(PLAN_RUN_KIND, PLAN_RUN_CAPABILITY, createPlanRunHandler(deps), { waitsForTasks: true });
await registerPlanSubtaskHandlers(registry, deps);
registry.unregister('plan.code'); // the crash tests need chat subtasks only
await startWorkers({
  queue,
  registry,
  capabilities: settings.capabilities ?? ['plan', 'chat'],
  concurrency: 4,
  leaseMs: settings.leaseMs,
  workerId: settings.workerId,
  logger,
  metrics: false,
  onSettled: (task, outcome) => process.stdout.write(`settled ${task.id} ${task.kind} ${outcome}\n`),
});
process.stdout.write('ready\n');
