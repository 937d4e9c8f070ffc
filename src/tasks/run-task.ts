/**
 * Runs one claimed task: the handler with its context, heartbeats that keep the lease (and notice a lost
 * lease or a cancel request), and the outcome recorded in the queue. Whatever the handler does, the
 * attempt ends recorded (completed, retrying, dead, cancelled) or, when the lease is gone, left to the
 * worker that holds it now: a task is never silently stuck.
 *
 * This is on every task's path, so an Attempt is one object that is also the handler's context, and the
 * signal, the child logger and the handler's stop hook are only made when something needs them.
 */
import type { Logger } from '../observability/logger.js';
import { contextFromTraceparent } from '../observability/trace-context.js';
import { getTracer, withSpan } from '../observability/tracing.js';
import { CancelledError, isRetryable, JuneError, outageOf, WorkerStoppingError } from '../util/errors.js';
import type { CircuitBreakers } from './circuit.js';
import { LeaseLostError } from './errors.js';
import type { HandlerContext, HandlerRegistry } from './handlers.js';
import type { TaskMetrics } from './metrics.js';
import type { FailOutcome, Lease, Task, TaskQueue } from './types.js';

export type SettledOutcome = 'completed' | FailOutcome | 'lost' | 'released';

export interface RunEnv {
  queue: TaskQueue;
  registry: HandlerRegistry;
  workerId: string;
  logger: Logger;
  metrics?: TaskMetrics | undefined;
  onSettled?: ((task: Task, outcome: SettledOutcome) => void) | undefined;
  /** True once the pool drains: no next task is claimed on completion. */
  stopping(): boolean;
  /** Running tasks: the pool's ticker beats them and a timed-out drain stops them. */
  running: Map<string, RunningTask>;
  /** Pauses a capability while a provider it needs is down. */
  circuits?: CircuitBreakers | undefined;
}

export interface RunningTask {
  lease: Lease;
  /** When the attempt started. */
  since: number;
  /** Sends a heartbeat (no-op while one is in flight). */
  beat(): void;
  /** The worker is shutting down: give the task back. */
  abort(reason: 'drain'): void;
}

type StopReason = 'lost' | 'cancel' | 'drain';

/**
 * Runs the lease. Returns the next lease when completing it claimed one, 'drained' when it asked for
 * one and the queue had none (the caller waits for work instead of asking again at once).
 */
export function runLease(env: RunEnv, lease: Lease): Promise<Lease | 'drained' | undefined> {
  return new Attempt(env, lease).run();
}

class Attempt implements RunningTask, HandlerContext {
  readonly since = Date.now();
  readonly task: Task;
  readonly attempt: number;
  readonly workerId: string;
  private controller: AbortController | undefined;
  private stopReason: StopReason | undefined;
  private stopError: Error | undefined;
  private interrupt: ((error: Error) => void) | undefined;
  private beating = false;
  private log: Logger | undefined;
  /** The outage decision for the error it was made for: the handler and the failure record share it. */
  private outage: { err: unknown; wait: boolean } | undefined;

  constructor(
    private readonly env: RunEnv,
    readonly lease: Lease,
  ) {
    this.task = lease.task;
    this.attempt = lease.attempt;
    this.workerId = env.workerId;
  }

  // ---------------------------------------------------------------- the handler's context

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.stopError) this.controller.abort(this.stopError);
    }
    return this.controller.signal;
  }

  get logger(): Logger {
    this.log ??= this.env.logger.child({ taskId: this.task.id, kind: this.task.kind, attempt: this.attempt });
    return this.log;
  }

  // bound functions, made on first use: handlers destructure their context ({ task, reportProgress, once })
  private bound: Partial<Pick<HandlerContext, 'reportProgress' | 'once' | 'children' | 'willRetry'>> = {};

  get reportProgress(): HandlerContext['reportProgress'] {
    return (this.bound.reportProgress ??= async (stage: string, data?: unknown) => {
      if (!this.stopReason) await this.env.queue.reportProgress(this.lease, stage, data);
    });
  }

  get once(): HandlerContext['once'] {
    return (this.bound.once ??= <T>(step: string, fn: () => Promise<T>) =>
      this.env.queue.once(this.lease, step, fn));
  }

  get children(): HandlerContext['children'] {
    return (this.bound.children ??= () => this.env.queue.children(this.task.id));
  }

  get willRetry(): HandlerContext['willRetry'] {
    return (this.bound.willRetry ??= (err: unknown) =>
      this.waitsForProvider(err) || (isRetryable(err) && this.attempt < this.task.maxAttempts));
  }

  /** True when `err` says a provider is down and the task waits for it (given back, attempt kept). */
  private waitsForProvider(err: unknown): boolean {
    if (this.outage && this.outage.err === err) return this.outage.wait;
    const provider = outageOf(err);
    const wait =
      provider !== undefined && (this.env.circuits?.outage(provider, this.task.capability) ?? false);
    this.outage = { err, wait };
    return wait;
  }

  // ---------------------------------------------------------------- control

  private stop(reason: StopReason, error: Error): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.stopError = error;
    this.controller?.abort(error);
    this.interrupt?.(error);
  }

  abort(): void {
    this.stop('drain', new WorkerStoppingError());
  }

  beat(): void {
    if (this.beating || this.stopReason) return;
    this.beating = true;
    this.env.queue
      .heartbeat(this.lease)
      .then((r) => {
        if (r === 'lost') this.stop('lost', new LeaseLostError(this.task.id));
        else if (r === 'cancel-requested') this.stop('cancel', new CancelledError('cancelled by request'));
      })
      // a failed heartbeat (Redis restarting) is retried at the next beat; the lease outlives a few misses
      .catch((err: unknown) => this.logger.warn({ err }, 'task heartbeat failed'))
      .finally(() => (this.beating = false));
  }

  private settle(outcome: SettledOutcome): void {
    if (outcome !== 'released')
      this.env.metrics?.observeEnd(this.task.capability, outcome, (Date.now() - this.since) / 1000);
    this.env.onSettled?.(this.task, outcome);
  }

  /** The handler's result; rejects as soon as the attempt is stopped (a handler may ignore its signal). */
  private runHandler(): Promise<unknown> {
    const entry = this.env.registry.get(this.task.kind);
    if (!entry)
      throw new JuneError(`no handler for task kind "${this.task.kind}" on worker ${this.workerId}`, {
        code: 'no_handler',
        // another worker (a newer version) may know it; dead after maxAttempts otherwise
        retryable: true,
      });
    const work = entry.handler(this as unknown as HandlerContext<never>);
    return new Promise((resolve, reject) => {
      this.interrupt = reject;
      if (this.stopError) reject(this.stopError);
      work.then(resolve, reject);
    });
  }

  /**
   * The handler inside a `task.run` span in the trace of the span that enqueued the task (its
   * traceparent), after a `task.wait` span for the time the task waited in the queue before its first
   * attempt. Spans the handler starts (voice.turn, channel.deliver…) are children of task.run.
   */
  private traced(): Promise<unknown> {
    const { task } = this;
    const parent = contextFromTraceparent(task.traceparent);
    const attributes = {
      'task.id': task.id,
      'task.kind': task.kind,
      'task.capability': task.capability,
      'task.attempt': this.attempt,
      'june.worker_id': this.workerId,
    };
    // an untraced task (enqueued with no span active) gets its wait as task.run's task.wait_ms only
    if (this.attempt === 1 && task.traceparent) {
      getTracer()
        .startSpan('task.wait', { startTime: task.createdAt, attributes }, parent)
        .end(Math.max(task.createdAt, this.since));
    }
    return withSpan(
      'task.run',
      { ...attributes, 'task.wait_ms': Math.max(0, this.since - task.createdAt) },
      () => this.runHandler(),
      parent,
    );
  }

  async run(): Promise<Lease | 'drained' | undefined> {
    const { env, lease, task } = this;
    const { queue } = env;
    env.running.set(task.id, this);
    env.metrics?.observeStart(task, lease.attempt, this.since);
    try {
      const result = await this.traced();
      env.circuits?.succeeded(task.capability);
      const claimNext = !env.stopping() && !env.circuits?.paused(task.capability);
      const next = await queue.complete(lease, result, { claimNext });
      this.settle('completed');
      return next ?? (claimNext ? 'drained' : undefined);
    } catch (err) {
      await this.recordFailure(err);
      return undefined;
    } finally {
      env.running.delete(task.id);
    }
  }

  private async recordFailure(err: unknown): Promise<void> {
    const { queue } = this.env;
    if (this.stopReason === 'lost' || err instanceof LeaseLostError) {
      this.logger.warn('lease lost: another worker runs this task now; this attempt is dropped');
      this.settle('lost');
      return;
    }
    if (this.stopReason === 'drain') {
      await queue
        .release(this.lease)
        .catch((e: unknown) => this.logger.warn({ err: e }, 'could not give the task back'));
      this.settle('released');
      return;
    }
    if (this.stopReason !== 'cancel' && this.waitsForProvider(err)) {
      this.logger.warn({ err }, 'provider is down; the task waits in the queue for it');
      await queue
        .release(this.lease)
        .catch((e: unknown) => this.logger.warn({ err: e }, 'could not give the task back'));
      this.settle('released');
      return;
    }
    this.env.circuits?.settled(this.task.capability);
    const error = this.stopReason === 'cancel' ? new CancelledError('cancelled by request') : err;
    try {
      const outcome = await queue.fail(this.lease, error);
      const level = outcome === 'retrying' ? 'warn' : outcome === 'dead' ? 'error' : 'info';
      this.logger[level]({ err: error, outcome }, `task attempt failed: ${outcome}`);
      this.settle(outcome);
    } catch (failErr) {
      if (failErr instanceof LeaseLostError) this.settle('lost');
      // not recorded now: the lease expires and the task is recovered as a lost attempt
      else
        this.logger.error(
          { err: failErr },
          'could not record the failure; the task returns when its lease expires',
        );
    }
  }
}
