/**
 * Handlers: what a worker runs for a task kind, wired explicitly as BullMQ's `new Worker(name, processor)`:
 * whoever owns the work fills a HandlerRegistry (kind → capability and handler) and passes it to
 * `startWorkers`, e.g.
 *
 *   const handlers = new HandlerRegistry();
 *   handlers.register('channel.text', 'chat', async ({ task, signal, once }) => { … });
 *   await startWorkers({ config, registry: handlers });
 *
 * `june start` and `june worker` pass the channel runtime's handlers (`startChannelRuntime(…).handlers`).
 *
 * A handler must be idempotent by task id: after a crash the same task runs again, so side effects that
 * must happen once (sending the reply) go through `ctx.once(step, fn)`, which records the step's result
 * and returns it on a re-run instead of running `fn` again.
 */
import type { Logger } from '../observability/logger.js';
import { isValidCapability } from './ids.js';
import type { ChildSummary, Task } from './types.js';

export interface HandlerContext<P = unknown> {
  task: Task & { payload: P };
  /** 1-based attempt number; > 1 means an earlier attempt failed or its worker died. */
  attempt: number;
  /** Aborted when the task is cancelled, its lease is lost, or the worker shuts down. */
  signal: AbortSignal;
  workerId: string;
  /** Records a progress/stage event that subscribers (`june tasks watch`) see live. */
  reportProgress(stage: string, data?: unknown): Promise<void>;
  /** Runs `fn` once per task: a re-run of the task gets the recorded result instead. */
  once<T>(step: string, fn: () => Promise<T>): Promise<T>;
  /** A parent's children with their results (or errors, under the 'continue' policy). */
  children(): Promise<ChildSummary[]>;
  /**
   * Whether the task runs again after failing with `err`: the one retry rule with the attempts left, or a
   * provider outage that the task waits out in the queue. A handler tells the user about a failure only
   * when this is false.
   */
  willRetry(err: unknown): boolean;
  logger: Logger;
}

export type TaskHandler<P = unknown, R = unknown> = (ctx: HandlerContext<P>) => Promise<R>;

export interface HandlerEntry {
  kind: string;
  capability: string;
  handler: TaskHandler<never>;
  /** See RegisterOptions.waitsForTasks. */
  waitsForTasks?: boolean;
}

export interface RegisterOptions {
  /**
   * The handler waits, holding its slot, for other tasks that workers must run (a plan's root waits for its
   * subtasks). A pool that also serves other capabilities keeps at least one slot free of such tasks, so
   * two of them can never fill every slot and wait on each other's work until their time runs out.
   */
  waitsForTasks?: boolean;
}

export class HandlerRegistry {
  private readonly entries = new Map<string, HandlerEntry>();

  register<P, R>(
    kind: string,
    capability: string,
    handler: TaskHandler<P, R>,
    options: RegisterOptions = {},
  ): void {
    if (!isValidCapability(capability)) throw new Error(`invalid capability "${capability}"`);
    if (this.entries.has(kind)) throw new Error(`a handler for task kind "${kind}" is already registered`);
    this.entries.set(kind, {
      kind,
      capability,
      handler: handler as TaskHandler<never>,
      ...(options.waitsForTasks ? { waitsForTasks: true } : {}),
    });
  }

  unregister(kind: string): boolean {
    return this.entries.delete(kind);
  }

  get(kind: string): HandlerEntry | undefined {
    return this.entries.get(kind);
  }

  /** Capabilities that have at least one handler: the default for workers. */
  capabilities(): string[] {
    return [...new Set([...this.entries.values()].map((e) => e.capability))];
  }

  kinds(): string[] {
    return [...this.entries.keys()];
  }

  /** Capabilities whose every handler waits for other tasks (RegisterOptions.waitsForTasks). */
  waitingCapabilities(): string[] {
    const all = [...this.entries.values()];
    return this.capabilities().filter((c) =>
      all.filter((e) => e.capability === c).every((e) => e.waitsForTasks === true),
    );
  }
}
