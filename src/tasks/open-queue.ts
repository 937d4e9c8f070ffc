/**
 * Opens the configured task queue. The backends load their drivers (better-sqlite3, bullmq/ioredis) only
 * here, so commands that never touch tasks never load them.
 */
import path from 'node:path';
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { QueueOptions, TaskQueue } from './types.js';

export type QueueConfig = Pick<
  JuneConfig,
  'queue' | 'redisUrl' | 'dataDir' | 'taskMaxAttempts' | 'taskLeaseMs' | 'taskRetryBaseMs'
>;

export interface OpenQueueOptions extends QueueOptions {
  logger?: Logger;
}

/** The SQLite file of the embedded queue. */
export function sqliteQueueFile(config: Pick<JuneConfig, 'dataDir'>): string {
  return path.join(config.dataDir, 'tasks.db');
}

export async function openTaskQueue(config: QueueConfig, options: OpenQueueOptions = {}): Promise<TaskQueue> {
  const common: QueueOptions = {
    maxAttempts: config.taskMaxAttempts,
    leaseMs: config.taskLeaseMs,
    retryBaseMs: config.taskRetryBaseMs,
    ...options,
  };
  if (config.queue === 'bullmq') {
    const { openBullmqQueue } = await import('./bullmq/bullmq-queue.js');
    return openBullmqQueue({
      ...common,
      url: config.redisUrl,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }
  const { openSqliteQueue } = await import('./sqlite/sqlite-queue.js');
  return openSqliteQueue({ ...common, file: sqliteQueueFile(config) });
}
