/**
 * A worker process for crash tests: `node --import tsx src/tasks/testing/worker-entry.ts` with its
 * settings as JSON in JUNE_TEST_WORKER. Optionally enqueues tasks first (as `june start` would when
 * messages arrive), then runs workers until killed. Prints "ready", then one line per settled attempt.
 */
import { createLogger } from '../../observability/logger.js';
import { HandlerRegistry } from '../handlers.js';
import { startWorkers } from '../runtime.js';
import type { TaskQueue, TaskSpec } from '../types.js';
import { registerTestHandlers } from './test-handlers.js';

export interface TestWorkerSettings {
  backend: 'sqlite' | 'bullmq';
  file?: string;
  url?: string;
  prefix?: string;
  leaseMs: number;
  concurrency: number;
  recordFile: string;
  workerId?: string;
  /** Enqueued before the workers start; idempotency keys make a restart enqueue nothing new. */
  enqueue?: { count: number; spec: TaskSpec };
}

const settings = JSON.parse(process.env.JUNE_TEST_WORKER ?? '{}') as TestWorkerSettings;
const logger = createLogger(process.env.JUNE_LOG_LEVEL ?? 'silent');

let queue: TaskQueue;
if (settings.backend === 'bullmq') {
  const { openBullmqQueue } = await import('../bullmq/bullmq-queue.js');
  queue = await openBullmqQueue({
    url: settings.url!,
    prefix: settings.prefix,
    leaseMs: settings.leaseMs,
    retryBaseMs: 50,
    logger,
  });
} else {
  const { openSqliteQueue } = await import('../sqlite/sqlite-queue.js');
  queue = await openSqliteQueue({ file: settings.file!, leaseMs: settings.leaseMs, retryBaseMs: 50 });
}

if (settings.enqueue) {
  const { count, spec } = settings.enqueue;
  for (let i = 0; i < count; i++)
    await queue.enqueue({ ...spec, idempotencyKey: `${spec.idempotencyKey ?? 'task'}-${i}` });
}

const registry = new HandlerRegistry();
registerTestHandlers(registry, { recordFile: settings.recordFile });
await startWorkers({
  queue,
  registry,
  capabilities: ['chat'],
  concurrency: settings.concurrency,
  leaseMs: settings.leaseMs,
  workerId: settings.workerId,
  logger,
  metrics: false,
  onSettled: (task, outcome) => process.stdout.write(`settled ${task.id} ${outcome}\n`),
});
process.stdout.write('ready\n');
