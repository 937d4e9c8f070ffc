/**
 * A worker process for the planner's kill -9 tests: `node --import tsx src/planner/testing/worker-entry.ts`
 * with its settings as JSON in JUNE_PLANNER_TEST_WORKER. It serves plan.run and plan.chat on the SQLite
 * queue with the model at `llmBaseUrl` (the test's fake server), prints "ready", then one line per
 * settled attempt, until it is killed.
 */
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../observability/logger.js';
import { HandlerRegistry } from '../../tasks/handlers.js';
import { startWorkers } from '../../tasks/runtime.js';
import { openSqliteQueue } from '../../tasks/sqlite/sqlite-queue.js';
import { PLAN_RUN_CAPABILITY, PLAN_RUN_KIND } from '../contract.js';
import { createPlanRunHandler } from '../run.js';
import { registerPlanSubtaskHandlers } from '../subtasks.js';

export interface PlannerTestWorkerSettings {
  file: string;
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
const queue = await openSqliteQueue({
  file: settings.file,
  leaseMs: settings.leaseMs,
  retryBaseMs: 50,
  pollMs: 20,
});
const deps = { queue, config, logger, metrics: false as const, pollMs: 200 };
const registry = new HandlerRegistry();
registry.register(PLAN_RUN_KIND, PLAN_RUN_CAPABILITY, createPlanRunHandler(deps), { waitsForTasks: true });
await registerPlanSubtaskHandlers(registry, deps);
registry.unregister('plan.code'); // the crash tests need chat subtasks only
await startWorkers({
  queue,
  registry,
  capabilities: ['plan', 'chat'],
  concurrency: 4,
  leaseMs: settings.leaseMs,
  workerId: settings.workerId,
  logger,
  metrics: false,
  onSettled: (task, outcome) => process.stdout.write(`settled ${task.id} ${task.kind} ${outcome}\n`),
});
process.stdout.write('ready\n');
