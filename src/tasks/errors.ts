/**
 * Errors of the task layer and how a thrown value becomes a recorded TaskError.
 */
import { CancelledError, JuneError } from '../util/errors.js';
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
 * Records what was thrown. A JuneError keeps its own `retryable` (bad input is final at once). Anything
 * else is an unexpected failure (a bug, a library's network error) and is retried: retries are bounded
 * by maxAttempts, and a transient failure must not lose the user's request.
 */
export function describeError(err: unknown): TaskError {
  if (err instanceof CancelledError || (err instanceof JuneError && err.code === 'cancelled')) {
    return { code: 'cancelled', message: err.message, retryable: false, userMessage: err.userMessage };
  }
  if (err instanceof JuneError) {
    return { code: err.code, message: err.message, retryable: err.retryable, userMessage: err.userMessage };
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return { code: 'cancelled', message: err.message || 'aborted', retryable: false };
  }
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : JSON.stringify(err);
  return { code: 'internal', message: message || 'unknown error', retryable: true };
}

/** The error recorded when a worker stopped heartbeating (crashed, was killed, lost its network). */
export function leaseExpiredError(): TaskError {
  return {
    code: 'lease_expired',
    message: 'the worker running this attempt stopped (lease expired)',
    retryable: true,
  };
}
