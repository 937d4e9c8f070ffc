/** The read side of the SQLite queue: details, listings, stats, and the event tail for subscribers. */
import type { Database, Statement } from 'better-sqlite3';
import type {
  CapabilityStats,
  ChildSummary,
  DeadLetterFilter,
  ListFilter,
  Task,
  TaskDetail,
  TaskEvent,
} from '../types.js';
import { toAttempt, toEvent, toTask, type AttemptRow, type EventRow, type TaskRow } from './rows.js';

export class SqliteQueries {
  private readonly s: Record<string, Statement>;

  constructor(private readonly db: Database) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      byId: p('SELECT * FROM tasks WHERE id = ?'),
      childIds: p('SELECT id FROM tasks WHERE parent_id = ? ORDER BY seq'),
      children: p('SELECT * FROM tasks WHERE parent_id = ? ORDER BY seq'),
      attempts: p('SELECT * FROM attempts WHERE task_id = ? ORDER BY id'),
      events: p('SELECT * FROM events WHERE task_id = ? ORDER BY seq'),
      list: p(`SELECT * FROM tasks WHERE (@state IS NULL OR state = @state)
          AND (@capability IS NULL OR capability = @capability) ORDER BY seq DESC LIMIT @limit`),
      dead: p(`SELECT t.* FROM tasks t LEFT JOIN tasks p ON p.id = t.parent_id
          WHERE t.state = 'dead' AND (p.id IS NULL OR p.state <> 'dead')
          AND (@capability IS NULL OR t.capability = @capability) ORDER BY t.finished_at DESC LIMIT @limit`),
      stats: p(`SELECT capability, state, run_at > @now AS future, COUNT(*) AS n FROM tasks
          GROUP BY capability, state, future`),
      eventsAfter: p('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT 1000'),
      lastEventSeq: p('SELECT COALESCE(MAX(seq), 0) AS seq FROM events'),
      nextDue: p(`SELECT MIN(run_at) AS at FROM tasks WHERE state IN ('queued', 'retrying') AND capability = ?
          AND run_at > ?`),
    };
  }

  private withChildren(row: TaskRow): Task {
    const ids = (this.s.childIds!.all(row.id) as { id: string }[]).map((r) => r.id);
    return toTask(row, ids);
  }

  get(id: string): TaskDetail | undefined {
    const row = this.s.byId!.get(id) as TaskRow | undefined;
    if (!row) return undefined;
    return {
      task: this.withChildren(row),
      attempts: (this.s.attempts!.all(id) as AttemptRow[]).map(toAttempt),
      timeline: (this.s.events!.all(id) as EventRow[]).map(toEvent),
    };
  }

  list(filter: ListFilter = {}): Task[] {
    const rows = this.s.list!.all({
      state: filter.state ?? null,
      capability: filter.capability ?? null,
      limit: filter.limit ?? 100,
    }) as TaskRow[];
    return rows.map((r) => this.withChildren(r));
  }

  /** Dead tasks; a dead child whose parent is dead too is listed under its parent only. */
  listDead(filter: DeadLetterFilter = {}): Task[] {
    const rows = this.s.dead!.all({
      capability: filter.capability ?? null,
      limit: filter.limit ?? 100,
    }) as TaskRow[];
    return rows.map((r) => this.withChildren(r));
  }

  children(id: string): ChildSummary[] {
    return (this.s.children!.all(id) as TaskRow[]).map((r) => {
      const t = toTask(r);
      const c: ChildSummary = { id: t.id, kind: t.kind, capability: t.capability, state: t.state };
      if (t.result !== undefined) c.result = t.result;
      if (t.error) c.error = t.error;
      return c;
    });
  }

  stats(now = Date.now()): CapabilityStats[] {
    const byCap = new Map<string, CapabilityStats>();
    const rows = this.s.stats!.all({ now }) as {
      capability: string;
      state: string;
      future: number;
      n: number;
    }[];
    for (const r of rows) {
      let s = byCap.get(r.capability);
      if (!s) {
        s = {
          capability: r.capability,
          new: 0,
          delayed: 0,
          active: 0,
          retrying: 0,
          waitingChildren: 0,
          completed: 0,
          dead: 0,
        };
        byCap.set(r.capability, s);
      }
      if (r.state === 'queued') {
        if (r.future) s.delayed += r.n;
        else s.new += r.n;
      } else if (r.state === 'active') s.active += r.n;
      else if (r.state === 'retrying') s.retrying += r.n;
      else if (r.state === 'waiting-children') s.waitingChildren += r.n;
      else if (r.state === 'completed') s.completed += r.n;
      else if (r.state === 'dead') s.dead += r.n;
    }
    return [...byCap.values()].sort((a, b) => a.capability.localeCompare(b.capability));
  }

  lastEventSeq(): number {
    return (this.s.lastEventSeq!.get() as { seq: number }).seq;
  }

  eventsAfter(seq: number): { seq: number; event: TaskEvent }[] {
    return (this.s.eventsAfter!.all(seq) as EventRow[]).map((r) => ({ seq: r.seq, event: toEvent(r) }));
  }

  /** Earliest future start time of a waiting task of these capabilities (undefined: none). */
  nextDueAt(capabilities: readonly string[], now = Date.now()): number | undefined {
    let min: number | undefined;
    for (const cap of capabilities) {
      const { at } = this.s.nextDue!.get(cap, now) as { at: number | null };
      if (at !== null && (min === undefined || at < min)) min = at;
    }
    return min;
  }

  /** Changes whenever another connection commits: a cheap way to notice other processes' work. */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }
}
