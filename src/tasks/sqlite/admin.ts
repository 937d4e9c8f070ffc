/**
 * Operator actions on the SQLite queue: cancel, dead-letter redrive and purge, retention, and the
 * workers registry. Each is one transaction.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { WorkerInfo } from '../types.js';
import { cancelledError, type SqliteLifecycle } from './lifecycle.js';
import type { TaskRow } from './rows.js';

export type DeadTarget = { id: string } | { all: true; capability?: string };

export class SqliteAdmin {
  private readonly s: Record<string, Statement>;

  constructor(
    private readonly db: Database,
    private readonly life: SqliteLifecycle,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      children: p('SELECT * FROM tasks WHERE parent_id = ? ORDER BY seq'),
      requestCancel: p(`UPDATE tasks SET cancel_requested = 1 WHERE seq = ?`),
      deadById: p(`SELECT * FROM tasks WHERE id = ? AND state = 'dead'`),
      deadAll: p(`SELECT * FROM tasks WHERE state = 'dead' AND parent_id IS NULL ORDER BY seq`),
      deadByCap: p(
        `SELECT * FROM tasks WHERE state = 'dead' AND parent_id IS NULL AND capability = ? ORDER BY seq`,
      ),
      // a dead child of a dead parent is redriven (and purged) with its parent
      deadChildAlone: p(`SELECT c.* FROM tasks c JOIN tasks p ON p.id = c.parent_id
          WHERE c.state = 'dead' AND p.state <> 'dead' AND (? IS NULL OR c.capability = ?) ORDER BY c.seq`),
      reset: p(`UPDATE tasks SET state = ?, attempts = 0, run_at = ?, error = NULL, finished_at = NULL,
          cancel_requested = 0, lease_token = NULL, lease_expires_at = NULL WHERE seq = ?`),
      deleteTask: p('DELETE FROM tasks WHERE id = ?'),
      deleteEvents: p('DELETE FROM events WHERE task_id = ?'),
      deleteAttempts: p('DELETE FROM attempts WHERE task_id = ?'),
      deleteSteps: p('DELETE FROM steps WHERE task_id = ?'),
      oldFinished: p(`SELECT id FROM tasks WHERE state IN ('completed', 'cancelled') AND finished_at < ?
          AND parent_id IS NULL LIMIT 500`),
      upsertWorker: p(`INSERT INTO workers (id, info, heartbeat_at) VALUES (?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET info = excluded.info, heartbeat_at = excluded.heartbeat_at`),
      deleteWorker: p('DELETE FROM workers WHERE id = ?'),
      pruneWorkers: p('DELETE FROM workers WHERE heartbeat_at < ?'),
      workers: p('SELECT info FROM workers ORDER BY id'),
    };
  }

  cancel(id: string): boolean {
    return this.db
      .transaction(() => {
        const row = this.life.row(id);
        if (!row) return false;
        const now = Date.now();
        if (row.state === 'active') {
          // the running worker sees this at its next heartbeat, aborts the handler and records 'cancelled'
          this.s.requestCancel!.run(row.seq);
          return true;
        }
        if (row.state !== 'queued' && row.state !== 'retrying' && row.state !== 'waiting-children')
          return false;
        this.life.finalize(row, 'cancelled', cancelledError(), now);
        for (const child of this.s.children!.all(id) as TaskRow[]) {
          if (child.state === 'active') this.s.requestCancel!.run(child.seq);
          else if (child.state === 'queued' || child.state === 'retrying')
            this.life.finalize(child, 'cancelled', cancelledError(), now);
        }
        return true;
      })
      .immediate();
  }

  private deadTargets(target: DeadTarget): TaskRow[] {
    if ('id' in target) {
      const row = this.s.deadById!.get(target.id) as TaskRow | undefined;
      return row ? [row] : [];
    }
    const cap = target.capability ?? null;
    const parents = (cap ? this.s.deadByCap!.all(cap) : this.s.deadAll!.all()) as TaskRow[];
    return [...parents, ...(this.s.deadChildAlone!.all(cap, cap) as TaskRow[])];
  }

  /**
   * Dead tasks run again with fresh attempts. A parent takes its dead or cancelled children along and
   * waits for them again; the history (attempts, events) is kept. Its original enqueue order is kept too,
   * so in its conversation it runs next, after the task running now.
   */
  redrive(target: DeadTarget): number {
    return this.db
      .transaction(() => {
        const now = Date.now();
        const rows = this.deadTargets(target);
        for (const row of rows) {
          let waiting = 0;
          for (const child of this.s.children!.all(row.id) as TaskRow[]) {
            if (child.state === 'dead' || child.state === 'cancelled') {
              this.s.reset!.run('queued', now, child.seq);
              this.life.event(child.id, child.capability, 'redriven', now);
            }
            if (child.state !== 'completed') waiting++;
          }
          this.s.reset!.run(waiting ? 'waiting-children' : 'queued', now, row.seq);
          this.life.event(row.id, row.capability, 'redriven', now);
        }
        return rows.length;
      })
      .immediate();
  }

  purgeDead(target: DeadTarget): number {
    return this.db
      .transaction(() => {
        const rows = this.deadTargets(target);
        for (const row of rows) {
          for (const child of this.s.children!.all(row.id) as TaskRow[]) this.deleteTask(child.id);
          this.deleteTask(row.id);
        }
        return rows.length;
      })
      .immediate();
  }

  private deleteTask(id: string): void {
    this.s.deleteEvents!.run(id);
    this.s.deleteAttempts!.run(id);
    this.s.deleteSteps!.run(id);
    this.s.deleteTask!.run(id);
  }

  /** Deletes completed and cancelled tasks (with their children and history) finished before `cutoff`. */
  prune(cutoff: number): number {
    let total = 0;
    for (;;) {
      const n = this.db
        .transaction(() => {
          const ids = (this.s.oldFinished!.all(cutoff) as { id: string }[]).map((r) => r.id);
          for (const id of ids) {
            for (const child of this.s.children!.all(id) as TaskRow[]) this.deleteTask(child.id);
            this.deleteTask(id);
          }
          return ids.length;
        })
        .immediate();
      total += n;
      if (n === 0) return total;
    }
  }

  registerWorker(info: WorkerInfo): void {
    this.s.upsertWorker!.run(info.id, JSON.stringify(info), info.lastHeartbeatAt);
    // workers that stopped without unregistering (killed) disappear after an hour
    this.s.pruneWorkers!.run(Date.now() - 3_600_000);
  }

  unregisterWorker(id: string): void {
    this.s.deleteWorker!.run(id);
  }

  listWorkers(): WorkerInfo[] {
    return (this.s.workers!.all() as { info: string }[]).map((r) => JSON.parse(r.info) as WorkerInfo);
  }
}
