/**
 * A coding run's live status in the chat that asked for it: one message, sent when the run starts and
 * edited as it goes ("Coding task: step 4: running: npm test"), ending on the final state ("done after
 * 5 steps", "stopped", "cancelled", or "interrupted" when the worker shut down mid-run and the task will run
 * again). Platforms limit edits, and a run may take a step every few hundred
 * milliseconds, so edits are throttled: at most one per `editIntervalMs`, always the latest step, and
 * the final state always, once the edit before it has landed.
 *
 * Over task retries: the status message's id is a recorded step (`once`), so a retried task edits the
 * same message instead of sending a second one; an edit that changes nothing is no error.
 */
import type { CodeRunStatus, CodeStatusTarget } from '../agent/code-handler.js';
import type { AgentProgress } from '../agent/types.js';
import type { Logger } from '../observability/logger.js';
import { statusMessage } from './status-message.js';
import type { ChannelAdapter } from './types.js';

export const STATUS_PREFIX = 'Coding task: ';
export const STATUS_STARTING = `${STATUS_PREFIX}starting…`;

/** A run whose worker shut down mid-run: the task goes back to the queue and runs again. */
export const INTERRUPTED_LINE = `${STATUS_PREFIX}interrupted (its worker stopped); it will run again when a worker is free.`;

/** The status line of a step. */
export function stepLine(p: AgentProgress): string {
  return `${STATUS_PREFIX}step ${p.step}: ${p.activity}`;
}

/** The status line of a finished run (its result), or of one that ended without a result. */
export function finalLine(outcome: Record<string, unknown>): string {
  const status = String(outcome.status ?? 'unknown');
  const steps = typeof outcome.steps === 'number' ? ` after ${outcome.steps} steps` : '';
  switch (status) {
    case 'completed':
      return `${STATUS_PREFIX}done${steps}.`;
    case 'cancelled':
      return `${STATUS_PREFIX}cancelled${steps}.`;
    case 'failed':
      return `${STATUS_PREFIX}failed${steps}.`;
    case 'interrupted':
      return INTERRUPTED_LINE;
    default:
      return `${STATUS_PREFIX}stopped (${status})${steps}.`;
  }
}

export interface CodeStatusOptions {
  logger: Logger;
  /** Least time between two edits; 0 edits at every step (still one edit at a time). */
  editIntervalMs: number;
}

export function codeStatusReporter(
  adapter: (name: string) => ChannelAdapter | undefined,
  options: CodeStatusOptions,
): (s: CodeStatusTarget) => CodeRunStatus {
  return ({ target, once, signal }) => {
    // the throttled, retried edit loop is the one every chat status message uses
    const status = statusMessage(adapter(target.channel), {
      target,
      initial: STATUS_STARTING,
      once,
      signal,
      logger: options.logger,
      editIntervalMs: options.editIntervalMs,
      step: 'status:message',
    });
    return {
      progress: (p) => status.update(stepLine(p)),
      // the final state goes out even if the task was cancelled meanwhile: it says so
      finish: (outcome) => status.finish(finalLine(outcome)),
    };
  };
}
