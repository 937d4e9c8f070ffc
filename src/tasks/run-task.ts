/**
 * Runs one claimed task: the handler with its context, a heartbeat that keeps the lease (and notices a
 * lost lease or a cancel request), and the outcome recorded in the queue. Whatever the handler does, the
 * attempt ends recorded (completed, retrying, dead, cancelled) or, when the lease is gone, left to the
 * worker that holds it now: a task is never silently stuck.
 */
import type { Logger } from '../observability/logger.js';
import { CancelledError, JuneError } from '../util/errors.js';
import { LeaseLostError } from './errors.js';
import type { HandlerContext, HandlerRegistry } from './handlers.js';
import type { TaskMetrics } from './metrics.js';
import type { FailOutcome, Lease, Task, TaskQueue } from './types.js';

export type SettledOutcome = 'completed' | FailOutcome | 'lost' | 'released';

export interface RunEnv {
  queue: TaskQueue;
  registry: HandlerRegistry;
  workerId: string;
  heartbeatMs: number;
  logger: Logger;
  metrics?: TaskMetrics | undefined;
  onSettled?: ((task: Task, outcome: SettledOutcome) => void) | undefined;
  /** True once the pool drains: no next task is claimed on completion. */
  stopping(): boolean;
  /** Running tasks, so the pool can abort them when a drain times out. */
  running: Map<string, RunningTask>;
}

export interface RunningTask {
  lease: Lease;
  abort(reason: 'drain'): void;
}

type StopReason = 'lost' | 'cancel' | 'drain';

/** Runs the lease; returns the next lease when completing it claimed one. */
export async function runLease(env: RunEnv, lease: Lease): Promise<Lease | undefined> {
  const { queue, logger, metrics } = env;
  const { task } = lease;
  const log = logger.child({ taskId: task.id, kind: task.kind, attempt: lease.attempt });
  const controller = new AbortController();
  let stopReason: StopReason | undefined;
  const stop = (reason: StopReason, error: Error) => {
    if (stopReason) return;
    stopReason = reason;
    controller.abort(error);
  };
  env.running.set(task.id, { lease, abort: () => stop('drain', new CancelledError('worker shutting down')) });

  let beating = false;
  const heartbeat = setInterval(() => {
    if (beating || stopReason) return;
    beating = true;
    queue
      .heartbeat(lease)
      .then((r) => {
        if (r === 'lost') stop('lost', new LeaseLostError(task.id));
        else if (r === 'cancel-requested') stop('cancel', new CancelledError('cancelled by request'));
      })
      // a failed heartbeat (Redis restarting) is retried at the next beat; the lease outlives a few misses
      .catch((err: unknown) => log.warn({ err }, 'task heartbeat failed'))
      .finally(() => (beating = false));
  }, env.heartbeatMs);

  const startedAt = Date.now();
  metrics?.observeStart(task, lease.attempt, startedAt);
  const runSeconds = () => (Date.now() - startedAt) / 1000;
  const settle = (outcome: SettledOutcome) => {
    if (outcome !== 'released') metrics?.observeEnd(task.capability, outcome, runSeconds());
    env.onSettled?.(task, outcome);
  };

  try {
    const entry = env.registry.get(task.kind);
    if (!entry)
      throw new JuneError(`no handler for task kind "${task.kind}" on worker ${env.workerId}`, {
        code: 'no_handler',
        // another worker (a newer version) may know it; dead after maxAttempts otherwise
        retryable: true,
      });
    const ctx: HandlerContext = {
      task,
      attempt: lease.attempt,
      signal: controller.signal,
      workerId: env.workerId,
      reportProgress: async (stage, data) => {
        if (!controller.signal.aborted) await queue.reportProgress(lease, stage, data);
      },
      once: (step, fn) => queue.once(lease, step, fn),
      children: () => queue.children(task.id),
      logger: log,
    };
    const result = await untilAborted(entry.handler(ctx as HandlerContext<never>), controller.signal);
    const next = await queue.complete(lease, result, { claimNext: !env.stopping() });
    settle('completed');
    return next;
  } catch (err) {
    if (stopReason === 'lost' || err instanceof LeaseLostError) {
      log.warn('lease lost: another worker runs this task now; this attempt is dropped');
      settle('lost');
      return undefined;
    }
    if (stopReason === 'drain') {
      await queue.release(lease).catch((e: unknown) => log.warn({ err: e }, 'could not give the task back'));
      settle('released');
      return undefined;
    }
    const error = stopReason === 'cancel' ? new CancelledError('cancelled by request') : err;
    try {
      const outcome = await queue.fail(lease, error);
      const level = outcome === 'retrying' ? 'warn' : outcome === 'dead' ? 'error' : 'info';
      log[level]({ err: error, outcome }, `task attempt failed: ${outcome}`);
      settle(outcome);
    } catch (failErr) {
      if (failErr instanceof LeaseLostError) settle('lost');
      // not recorded now: the lease expires and the task is recovered as a lost attempt
      else
        log.error({ err: failErr }, 'could not record the failure; the task returns when its lease expires');
    }
    return undefined;
  } finally {
    clearInterval(heartbeat);
    env.running.delete(task.id);
  }
}

/** The handler's result, or a rejection as soon as the signal aborts (a handler may ignore its signal). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined); // an abandoned handler's late rejection is expected, not unhandled
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new CancelledError());
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
