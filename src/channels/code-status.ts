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
import { sendWithRetry } from './delivery.js';
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

const NO_STATUS: CodeRunStatus = { progress: () => undefined, finish: async () => undefined };

export function codeStatusReporter(
  adapter: (name: string) => ChannelAdapter | undefined,
  options: CodeStatusOptions,
): (s: CodeStatusTarget) => CodeRunStatus {
  return ({ target, once, signal }) => {
    const channel = adapter(target.channel);
    if (!channel?.sendEditableText || !channel.editText) return NO_STATUS;
    const log = options.logger.child({ channel: target.channel, chatId: target.chatId });
    const send = channel.sendEditableText.bind(channel);
    const edit = channel.editText.bind(channel);
    // a failed edit is not worth holding the run: a few tries, short waits
    const final = { logger: log, attempts: 3, maxRateLimitWaitMs: 10_000 };
    const retry = { ...final, signal };

    const messageId: Promise<string | undefined> = once('status:message', () =>
      sendWithRetry(() => send(target, STATUS_STARTING), retry),
    ).catch((err: unknown) => {
      log.warn({ err: String(err) }, 'could not send the coding status message');
      return undefined;
    });
    let shown = STATUS_STARTING;
    let latest = STATUS_STARTING;
    let lastEditAt = 0;
    let inFlight: Promise<void> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let finished = false;

    const editNow = (): Promise<void> => {
      const text = latest;
      const done = (async () => {
        const id = await messageId;
        if (!id || text === shown) return;
        await sendWithRetry(() => edit(target, id, text), retry);
        shown = text;
      })()
        .catch((err: unknown) => log.warn({ err: String(err) }, 'could not edit the coding status message'))
        .finally(() => {
          lastEditAt = Date.now();
          inFlight = undefined;
          if (!finished && latest !== shown) schedule();
        });
      inFlight = done;
      return done;
    };

    const schedule = () => {
      if (inFlight || timer || finished) return;
      const wait = lastEditAt + options.editIntervalMs - Date.now();
      if (wait <= 0) void editNow();
      else {
        timer = setTimeout(() => {
          timer = undefined;
          if (!finished) void editNow();
        }, wait);
        timer.unref();
      }
    };

    return {
      progress(p) {
        if (finished) return;
        latest = stepLine(p);
        schedule();
      },
      async finish(outcome) {
        finished = true;
        if (timer) clearTimeout(timer);
        timer = undefined;
        latest = finalLine(outcome);
        await inFlight;
        // the final state goes out even if the task was cancelled meanwhile: it says so
        const id = await messageId;
        if (!id || latest === shown) return;
        await sendWithRetry(() => edit(target, id, latest), final)
          .then(() => (shown = latest))
          .catch((err: unknown) => log.warn({ err: String(err) }, 'could not show the final coding status'));
      },
    };
  };
}
