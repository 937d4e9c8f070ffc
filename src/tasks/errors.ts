/**
 * Errors of the task layer and how a thrown value becomes a recorded TaskError.
 */
import { isRetryable, JuneError, toJuneError } from '../util/errors.js';
import { redact } from '../util/redact.js';
import type { TaskError } from './types.js';

/** The lease on a task is gone (expired and taken by another worker, or the task finished). */
export class LeaseLostError extends JuneError {
  readonly taskId: string;
  constructor(taskId: string, detail = 'the lease expired or the task was taken over') {
    super(`lease lost on task ${taskId}: ${detail}`, { code: 'lease_lost', retryable: false });
    this.taskId = taskId;
  }
}

/** The spec passed to enqueue is unusable (bad name, nested children, …). */
export class InvalidTaskError extends JuneError {
  constructor(message: string) {
    super(message, { code: 'task_invalid', retryable: false });
  }
}

/**
 * Records what was thrown. Whether it is retried is decided by `isRetryable`'s one rule
 * (src/util/errors.ts): retried unless known to be final, bounded by maxAttempts.
 */
export function toTaskError(err: unknown): TaskError {
  const e = toJuneError(err);
  // what is recorded reaches tasks.db, Redis, logs and API answers: no credentials in it
  return {
    code: e.code,
    message: redact(e.message),
    retryable: isRetryable(e),
    userMessage: redact(e.userMessage),
  };
}

/** The error recorded when a worker stopped heartbeating (crashed, was killed, lost its network). */
export function leaseExpiredError(): TaskError {
  return {
    code: 'lease_expired',
    message: 'the worker running this attempt stopped (lease expired)',
    retryable: true,
  };
}
