/**
 * The write side of the SQLite queue: every state change is one IMMEDIATE transaction, so two processes
 * on the same file never both claim a task, and a process killed mid-way leaves either the old or the
 * new state, never half of each. Lease tokens fence late writes from a worker whose lease expired.
 */
import type { Database, Statement } from 'better-sqlite3';
import { retryDelayMs } from '../backoff.js';
import { LeaseLostError, toTaskError, leaseExpiredError } from '../errors.js';
import { childTaskId, newTaskId, uniqueToken } from '../ids.js';
import type { FailOutcome, HeartbeatResult, Lease, TaskError, TaskEventType, TaskSpec } from '../types.js';
import { json, toTask, type TaskRow } from './rows.js';

export interface LifecycleSettings {
  maxAttempts: number;
  leaseMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

interface EventFields {
  attempt?: number | null;
  workerId?: string | null;
  stage?: string;
  data?: unknown;
  error?: TaskError;
  delayMs?: number;
}

const UNFINISHED = `('queued', 'active', 'retrying', 'waiting-children')`;

export class SqliteLifecycle {
  private readonly s: Record<string, Statement>;
  /** claim statements for one capability, cached */
  private readonly selectRunnable: Statement;

  constructor(
    private readonly db: Database,
    private readonly settings: LifecycleSettings,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      byId: p('SELECT * FROM tasks WHERE id = ?'),
      insertTask:
        p(`INSERT INTO tasks (id, idempotency_key, kind, capability, payload, conversation_key, order_key,
          state, run_at, max_attempts, parent_id, on_child_dead, created_at, traceparent)
        VALUES (@id, @idempotencyKey, @kind, @capability, @payload, @conversationKey, @orderKey,
          @state, @runAt, @maxAttempts, @parentId, @onChildDead, @createdAt, @traceparent)`),
      insertEvent:
        p(`INSERT INTO events (task_id, capability, type, at, attempt, worker_id, stage, data, error, delay_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      activate:
        p(`UPDATE tasks SET state = 'active', attempts = attempts + 1, lease_token = ?, lease_expires_at = ?,
          worker_id = ?, started_at = ? WHERE seq = ?`),
      insertAttempt: p(
        `INSERT INTO attempts (task_id, n, worker_id, started_at, outcome) VALUES (?, ?, ?, ?, 'running')`,
      ),
      endAttempt: p(`UPDATE attempts SET ended_at = ?, outcome = ?, error = ?, retry_delay_ms = ?
          WHERE task_id = ? AND n = ? AND outcome = 'running'`),
      expired: p(`SELECT * FROM tasks WHERE state = 'active' AND lease_expires_at < ?`),
      leased: p(`SELECT * FROM tasks WHERE id = ? AND lease_token = ? AND state = 'active'`),
      heartbeat:
        p(`UPDATE tasks SET lease_expires_at = ? WHERE id = ? AND lease_token = ? AND state = 'active'
          RETURNING cancel_requested`),
      progress: p(`UPDATE tasks SET progress = ? WHERE id = ? AND lease_token = ? AND state = 'active'`),
      complete:
        p(`UPDATE tasks SET state = 'completed', result = ?, error = NULL, finished_at = ?, lease_token = NULL,
          lease_expires_at = NULL WHERE id = ? AND lease_token = ? AND state = 'active'`),
      finalize:
        p(`UPDATE tasks SET state = ?, error = ?, finished_at = ?, lease_token = NULL, lease_expires_at = NULL
          WHERE seq = ?`),
      retry:
        p(`UPDATE tasks SET state = 'retrying', run_at = ?, error = ?, lease_token = NULL, lease_expires_at = NULL
          WHERE seq = ?`),
      release: p(`UPDATE tasks SET state = CASE WHEN attempts > 1 THEN 'retrying' ELSE 'queued' END,
          attempts = attempts - 1, run_at = ?, lease_token = NULL, lease_expires_at = NULL
          WHERE id = ? AND lease_token = ? AND state = 'active'`),
      unfinishedChildren: p(`SELECT COUNT(*) AS n FROM tasks WHERE parent_id = ? AND state IN ${UNFINISHED}`),
      wakeParent: p(`UPDATE tasks SET state = 'queued', run_at = MAX(run_at, ?) WHERE seq = ?`),
      step: p('SELECT result FROM steps WHERE task_id = ? AND step = ?'),
      saveStep: p('INSERT OR IGNORE INTO steps (task_id, step, result) VALUES (?, ?, ?)'),
    };
    // FIFO per conversation: a task may start only when no earlier task of its conversation is unfinished
    // and no task of its conversation is running or waiting for children (a redriven old task waits too).
    this.selectRunnable = p(`SELECT * FROM tasks AS t
      WHERE t.state IN ('queued', 'retrying') AND t.capability = ? AND t.run_at <= ?
        AND (t.order_key IS NULL OR (
          NOT EXISTS (SELECT 1 FROM tasks AS p WHERE p.order_key = t.order_key AND p.seq < t.seq
            AND p.state IN ${UNFINISHED})
          AND NOT EXISTS (SELECT 1 FROM tasks AS p WHERE p.order_key = t.order_key AND p.seq <> t.seq
            AND p.state IN ('active', 'waiting-children'))))
      ORDER BY t.seq LIMIT 1`);
  }

  private now = () => Date.now();

  event(taskId: string, capability: string, type: TaskEventType, at: number, f: EventFields = {}): void {
    this.s.insertEvent!.run(
      taskId,
      capability,
      type,
      at,
      f.attempt ?? null,
      f.workerId ?? null,
      f.stage ?? null,
      json(f.data),
      json(f.error),
      f.delayMs ?? null,
    );
  }

  row(id: string): TaskRow | undefined {
    return this.s.byId!.get(id) as TaskRow | undefined;
  }

  /** Returns the id and whether a new task was created (false: the idempotency key was seen before). */
  enqueue(spec: TaskSpec): { id: string; created: boolean } {
    return this.db
      .transaction(() => {
        const id = newTaskId(spec.capability, spec.idempotencyKey);
        if (this.row(id)) return { id, created: false };
        const now = this.now();
        const children = spec.children ?? [];
        this.insert(spec, id, children.length ? 'waiting-children' : 'queued', now, spec.conversationKey);
        children.forEach((child, i) => {
          const traced =
            child.traceparent || !spec.traceparent ? child : { ...child, traceparent: spec.traceparent };
          this.insert(traced, childTaskId(id, child.capability, i), 'queued', now, undefined, id);
        });
        return { id, created: true };
      })
      .immediate();
  }

  private insert(
    spec: TaskSpec,
    id: string,
    state: 'queued' | 'waiting-children',
    now: number,
    orderKey: string | undefined,
    parentId?: string,
  ): void {
    this.s.insertTask!.run({
      id,
      idempotencyKey: spec.idempotencyKey ?? null,
      kind: spec.kind,
      capability: spec.capability,
      payload: JSON.stringify(spec.payload ?? null),
      conversationKey: spec.conversationKey ?? null,
      orderKey: orderKey ?? null,
      state,
      runAt: now + (spec.delayMs ?? 0),
      maxAttempts: spec.maxAttempts ?? this.settings.maxAttempts,
      parentId: parentId ?? null,
      onChildDead: spec.children?.length ? (spec.onChildDead ?? 'fail-parent') : null,
      createdAt: now,
      traceparent: spec.traceparent ?? null,
    });
    this.event(id, spec.capability, 'queued', now, spec.delayMs ? { delayMs: spec.delayMs } : {});
  }

  claim(capabilities: readonly string[], workerId: string): Lease | undefined {
    return this.db
      .transaction(() => {
        const now = this.now();
        this.recoverExpiredIn(now);
        return this.claimIn(capabilities, workerId, now);
      })
      .immediate();
  }

  /** The oldest runnable task over all capabilities (one indexed query per capability). */
  private claimIn(capabilities: readonly string[], workerId: string, now: number): Lease | undefined {
    let best: TaskRow | undefined;
    for (const cap of capabilities) {
      const row = this.selectRunnable.get(cap, now) as TaskRow | undefined;
      if (row && (!best || row.seq < best.seq)) best = row;
    }
    if (!best) return undefined;
    const token = uniqueToken();
    this.s.activate!.run(token, now + this.settings.leaseMs, workerId, now, best.seq);
    const attempt = best.attempts + 1;
    this.s.insertAttempt!.run(best.id, attempt, workerId, now);
    this.event(best.id, best.capability, 'active', now, { attempt, workerId });
    const task = toTask({
      ...best,
      state: 'active',
      attempts: attempt,
      worker_id: workerId,
      started_at: now,
      lease_token: token,
    });
    return { task, token, attempt, workerId };
  }

  /** Expired leases: the attempt is recorded as lost; the task runs again, or dies when out of attempts. */
  recoverExpiredIn(now: number): number {
    const rows = this.s.expired!.all(now) as TaskRow[];
    for (const row of rows) {
      const error = leaseExpiredError();
      this.s.endAttempt!.run(now, 'lost', json(error), null, row.id, row.attempts);
      this.event(row.id, row.capability, 'lost', now, {
        attempt: row.attempts,
        workerId: row.worker_id,
        error,
      });
      if (row.cancel_requested) this.finalize(row, 'cancelled', cancelledError(), now);
      else if (row.attempts >= row.max_attempts) this.finalize(row, 'dead', error, now);
      else this.s.retry!.run(now, json(error), row.seq);
    }
    return rows.length;
  }

  recoverExpired(): number {
    return this.db.transaction(() => this.recoverExpiredIn(this.now())).immediate();
  }

  heartbeat(lease: Lease): HeartbeatResult {
    const row = this.s.heartbeat!.get(this.now() + this.settings.leaseMs, lease.task.id, lease.token) as
      { cancel_requested: number } | undefined;
    if (!row) return 'lost';
    return row.cancel_requested ? 'cancel-requested' : 'ok';
  }

  reportProgress(lease: Lease, stage: string, data: unknown): void {
    this.db
      .transaction(() => {
        const at = this.now();
        const progress = { stage, data, at, attempt: lease.attempt };
        const r = this.s.progress!.run(JSON.stringify(progress), lease.task.id, lease.token);
        if (r.changes === 0) throw new LeaseLostError(lease.task.id);
        this.event(lease.task.id, lease.task.capability, 'progress', at, {
          attempt: lease.attempt,
          workerId: lease.workerId,
          stage,
          data,
        });
      })
      .immediate();
  }

  complete(lease: Lease, result: unknown, claimNext: boolean): Lease | undefined {
    return this.db
      .transaction(() => {
        const now = this.now();
        const { id, capability, parentId } = lease.task;
        const r = this.s.complete!.run(json(result), now, id, lease.token);
        if (r.changes === 0) throw new LeaseLostError(id);
        this.s.endAttempt!.run(now, 'completed', null, null, id, lease.attempt);
        this.event(id, capability, 'completed', now, { attempt: lease.attempt, workerId: lease.workerId });
        if (parentId) this.settleChild(parentId, id, 'completed', undefined, now);
        return claimNext ? this.claimIn([capability], lease.workerId, now) : undefined;
      })
      .immediate();
  }

  fail(lease: Lease, err: unknown): FailOutcome {
    return this.db
      .transaction((): FailOutcome => {
        const now = this.now();
        const row = this.s.leased!.get(lease.task.id, lease.token) as TaskRow | undefined;
        if (!row) throw new LeaseLostError(lease.task.id);
        const error = toTaskError(err);
        if (error.code === 'cancelled') {
          this.s.endAttempt!.run(now, 'cancelled', json(error), null, row.id, lease.attempt);
          this.finalize(row, 'cancelled', error, now);
          return 'cancelled';
        }
        if (!error.retryable || row.attempts >= row.max_attempts) {
          this.s.endAttempt!.run(now, 'failed', json(error), null, row.id, lease.attempt);
          this.finalize(row, 'dead', error, now);
          return 'dead';
        }
        const delayMs = retryDelayMs(row.attempts, this.settings.retryBaseMs, this.settings.retryMaxMs);
        this.s.endAttempt!.run(now, 'failed', json(error), delayMs, row.id, lease.attempt);
        this.s.retry!.run(now + delayMs, json(error), row.seq);
        this.event(row.id, row.capability, 'retrying', now, { attempt: lease.attempt, error, delayMs });
        return 'retrying';
      })
      .immediate();
  }

  release(lease: Lease): void {
    this.db
      .transaction(() => {
        const now = this.now();
        const r = this.s.release!.run(now, lease.task.id, lease.token);
        if (r.changes === 0) return;
        this.s.endAttempt!.run(now, 'released', null, null, lease.task.id, lease.attempt);
      })
      .immediate();
  }

  /** Final state for a task; a parent learns about its child. */
  finalize(row: TaskRow, state: 'dead' | 'cancelled', error: TaskError, now: number): void {
    this.s.finalize!.run(state, json(error), now, row.seq);
    this.event(row.id, row.capability, state, now, { attempt: row.attempts || null, error });
    if (row.parent_id) this.settleChild(row.parent_id, row.id, state, error, now);
  }

  /** A child settled: under 'fail-parent' a dead child kills the parent; the last child wakes it. */
  settleChild(
    parentId: string,
    childId: string,
    childState: string,
    error: TaskError | undefined,
    now: number,
  ) {
    const parent = this.row(parentId);
    if (!parent || parent.state !== 'waiting-children') return;
    if (childState !== 'completed' && (parent.on_child_dead ?? 'fail-parent') === 'fail-parent') {
      const reason: TaskError = {
        code: 'child_dead',
        message: `child ${childId} ${childState}${error ? `: ${error.message}` : ''}`,
        retryable: false,
      };
      this.finalize(parent, 'dead', reason, now);
      return;
    }
    const { n } = this.s.unfinishedChildren!.get(parentId) as { n: number };
    if (n === 0) {
      this.s.wakeParent!.run(now, parent.seq);
      this.event(parentId, parent.capability, 'queued', now, { data: { reason: 'children settled' } });
    }
  }

  /** A recorded step result, or undefined. Throws LeaseLostError so a zombie never runs a step. */
  stepResult(lease: Lease, step: string): { found: boolean; value?: unknown } {
    if (!this.s.leased!.get(lease.task.id, lease.token)) throw new LeaseLostError(lease.task.id);
    const row = this.s.step!.get(lease.task.id, step) as { result: string | null } | undefined;
    if (!row) return { found: false };
    return { found: true, value: row.result === null ? undefined : JSON.parse(row.result) };
  }

  saveStep(lease: Lease, step: string, value: unknown): void {
    this.s.saveStep!.run(lease.task.id, step, json(value));
  }
}

export function cancelledError(): TaskError {
  return { code: 'cancelled', message: 'cancelled by request', retryable: false, userMessage: 'Cancelled.' };
}
