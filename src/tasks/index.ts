/**
 * The task layer's public API: every request becomes a task on a queue (embedded SQLite, or BullMQ on
 * Redis for scale-out) that capability-based workers run with retries, dead letters and live progress.
 *
 *   registerHandler('voice.turn', 'voice', async ({ task, signal, reportProgress, once }) => { … });
 *   const pool = await startWorkers({ config });          // in-process workers (`june start`)
 *   const id = await pool.queue.enqueue({ kind: 'voice.turn', capability: 'voice', payload, conversationKey });
 */
export { registerHandler, defaultHandlerRegistry, HandlerRegistry } from './handlers.js';
export type { HandlerContext, TaskHandler } from './handlers.js';
export { handlerModules, loadHandlerModules } from './handler-modules.js';
export { startWorkers } from './runtime.js';
export type { StartWorkersOptions, WorkerPool } from './runtime.js';
export { openTaskQueue, sqliteQueueFile } from './open-queue.js';
export { taskMetrics, serveMetrics } from './metrics.js';
export type { TaskMetrics } from './metrics.js';
export { LeaseLostError, InvalidTaskError, describeError } from './errors.js';
export { TASK_STATES, FINAL_STATES } from './types.js';
export type * from './types.js';
