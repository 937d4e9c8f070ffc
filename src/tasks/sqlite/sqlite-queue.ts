/**
 * The embedded task queue: one SQLite file under JUNE_DATA_DIR. Several processes (a `june start` and
 * standalone `june worker`s on the same machine) can share the file; they notice each other's writes
 * through SQLite's data_version, so an idle worker picks up a task enqueued elsewhere within `pollMs`.
 */
import type { Database } from 'better-sqlite3';
import { withActiveTraceparent } from '../../observability/trace-context.js';
import { preparePrivateDatabase } from '../../util/private-files.js';
import { validateSpec } from '../ids.js';
import type {
  CapabilityStats,
  ChildSummary,
  DeadLetterFilter,
  FailOutcome,
  HeartbeatResult,
  Lease,
  ListFilter,
  QueueOptions,
  Subscription,
  SubscribeFilter,
  Task,
  TaskDetail,
  TaskEvent,
  TaskQueue,
  TaskSpec,
  WorkerInfo,
} from '../types.js';
import { Wakeups } from '../wake.js';
import { SqliteAdmin, type DeadTarget } from './admin.js';
import { SqliteLifecycle } from './lifecycle.js';
import { SqliteQueries } from './queries.js';
import { applySchema } from './schema.js';

export interface SqliteQueueOptions extends QueueOptions {
  /** The database file ("tasks.db" under the data directory by default). */
  file: string;
  /** How often idle workers and subscribers look for other processes' writes (default 50 ms). */
  pollMs?: number;
  /** Completed and cancelled tasks are deleted after this long (default 7 days). */
  retentionMs?: number;
}

export async function openSqliteQueue(options: SqliteQueueOptions): Promise<SqliteTaskQueue> {
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  // tasks hold the users' messages: owner-only, whatever the umask
  preparePrivateDatabase(options.file);
  const db = new BetterSqlite3(options.file);
  try {
    applySchema(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteTaskQueue(db, options);
}

export class SqliteTaskQueue implements TaskQueue {
  readonly backend = 'sqlite' as const;
  private readonly life: SqliteLifecycle;
  private readonly admin: SqliteAdmin;
  private readonly queries: SqliteQueries;
  private readonly wakeups = new Wakeups();
  private readonly pollMs: number;
  private readonly retentionMs: number;
  private poller: NodeJS.Timeout | undefined;
  private dataVersion = 0;
  private lastPrune = 0;
  private closed = false;

  constructor(
    private readonly db: Database,
    options: SqliteQueueOptions,
  ) {
    this.life = new SqliteLifecycle(db, {
      maxAttempts: options.maxAttempts ?? 3,
      leaseMs: options.leaseMs ?? 30_000,
      retryBaseMs: options.retryBaseMs ?? 1000,
      retryMaxMs: options.retryMaxMs ?? 300_000,
    });
    this.admin = new SqliteAdmin(db, this.life);
    this.queries = new SqliteQueries(db);
    this.pollMs = options.pollMs ?? 50;
    this.retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
  }

  // ---------------------------------------------------------------- producing

  async enqueue(given: TaskSpec): Promise<string> {
    validateSpec(given);
    const spec = withActiveTraceparent(given);
    const { id, created } = this.life.enqueue(spec);
    if (created) {
      if (spec.children?.length) this.wakeups.notify();
      else this.wakeups.notifyOne();
    }
    return id;
  }

  async cancel(id: string): Promise<boolean> {
    const changed = this.admin.cancel(id);
    if (changed) this.wakeups.notify();
    return changed;
  }

  // ---------------------------------------------------------------- running

  async claim(capabilities: readonly string[], workerId: string): Promise<Lease | undefined> {
    const lease = this.life.claim(capabilities, workerId);
    if (lease) this.wakeups.notifyOne(); // there may be more: pass the wake-up on
    return lease;
  }

  async heartbeat(lease: Lease): Promise<HeartbeatResult> {
    return this.life.heartbeat(lease);
  }

  async reportProgress(lease: Lease, stage: string, data?: unknown): Promise<void> {
    this.life.reportProgress(lease, stage, data);
    this.wakeups.notifyListeners();
  }

  async complete(
    lease: Lease,
    result: unknown,
    options: { claimNext?: boolean } = {},
  ): Promise<Lease | undefined> {
    const next = this.life.complete(lease, result, options.claimNext ?? false);
    this.wakeups.notifyOne(); // may unblock its conversation or its parent
    return next;
  }

  async fail(lease: Lease, error: unknown): Promise<FailOutcome> {
    const outcome = this.life.fail(lease, error);
    this.wakeups.notifyOne(); // a waiter re-reads when the next retry is due
    return outcome;
  }

  async release(lease: Lease): Promise<void> {
    this.life.release(lease);
    this.wakeups.notifyOne();
  }

  async once<T>(lease: Lease, step: string, fn: () => Promise<T>): Promise<T> {
    const recorded = this.life.stepResult(lease, step);
    if (recorded.found) return recorded.value as T;
    const value = await fn();
    this.life.saveStep(lease, step, value);
    return value;
  }

  async children(taskId: string): Promise<ChildSummary[]> {
    return this.queries.children(taskId);
  }

  async recoverExpired(): Promise<void> {
    if (this.life.recoverExpired() > 0) this.wakeups.notify();
    if (Date.now() - this.lastPrune > 600_000) {
      this.lastPrune = Date.now();
      this.admin.prune(Date.now() - this.retentionMs);
    }
  }

  async waitForWork(capabilities: readonly string[], maxMs: number, signal?: AbortSignal): Promise<void> {
    const due = this.queries.nextDueAt(capabilities);
    const ms = due === undefined ? maxMs : Math.min(maxMs, Math.max(1, due - Date.now()));
    this.startPolling();
    try {
      await this.wakeups.wait(ms, signal);
    } finally {
      this.stopPollingIfIdle();
    }
  }

  /** Watches data_version while someone waits, so commits by other processes wake them. */
  private startPolling(): void {
    if (this.poller || this.closed) return;
    this.dataVersion = this.queries.dataVersion();
    this.poller = setInterval(() => {
      const v = this.queries.dataVersion();
      if (v !== this.dataVersion) {
        this.dataVersion = v;
        this.wakeups.notify();
      }
    }, this.pollMs);
    this.poller.unref();
  }

  private stopPollingIfIdle(): void {
    if (this.poller && this.wakeups.size === 0) {
      clearInterval(this.poller);
      this.poller = undefined;
    }
  }

  // ---------------------------------------------------------------- visibility

  async get(id: string): Promise<TaskDetail | undefined> {
    return this.queries.get(id);
  }

  async list(filter?: ListFilter): Promise<Task[]> {
    return this.queries.list(filter);
  }

  async stats(): Promise<CapabilityStats[]> {
    return this.queries.stats();
  }

  async subscribe(listener: (event: TaskEvent) => void, filter: SubscribeFilter = {}): Promise<Subscription> {
    let seq = this.queries.lastEventSeq();
    let pending = false;
    const pump = () => {
      if (pending || this.closed) return;
      pending = true;
      setImmediate(() => {
        pending = false;
        if (this.closed) return;
        for (;;) {
          const batch = this.queries.eventsAfter(seq);
          for (const { seq: s, event } of batch) {
            seq = s;
            if (filter.taskId && event.taskId !== filter.taskId) continue;
            if (filter.capability && event.capability !== filter.capability) continue;
            listener(event);
          }
          if (batch.length < 1000) break;
        }
      });
    };
    const off = this.wakeups.on(pump);
    this.startPolling();
    return {
      close: async () => {
        off();
        this.stopPollingIfIdle();
      },
    };
  }

  // ---------------------------------------------------------------- dead letters

  async listDead(filter?: DeadLetterFilter): Promise<Task[]> {
    return this.queries.listDead(filter);
  }

  async redrive(target: DeadTarget): Promise<number> {
    const n = this.admin.redrive(target);
    if (n) this.wakeups.notify();
    return n;
  }

  async purgeDead(target: DeadTarget): Promise<number> {
    return this.admin.purgeDead(target);
  }

  // ---------------------------------------------------------------- workers

  async registerWorker(info: WorkerInfo): Promise<void> {
    this.admin.registerWorker(info);
  }

  async unregisterWorker(id: string): Promise<void> {
    this.admin.unregisterWorker(id);
  }

  async listWorkers(): Promise<WorkerInfo[]> {
    return this.admin.listWorkers();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    this.wakeups.notify();
    this.db.close();
  }
}
