/**
 * The SQLite task database. WAL lets `june tasks …` read while workers write; synchronous=NORMAL in WAL
 * mode never loses a committed transaction when a process is killed (only on power loss, at most the
 * last commits). `seq` is the enqueue order that per-conversation FIFO and claims follow.
 */
import type { Database } from 'better-sqlite3';

const SCHEMA_VERSION = 2;

const ddl = `
CREATE TABLE IF NOT EXISTS tasks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  idempotency_key TEXT,
  kind TEXT NOT NULL,
  capability TEXT NOT NULL,
  payload TEXT NOT NULL,
  conversation_key TEXT,
  -- the conversation key of top-level tasks only: children never wait behind their own parent
  order_key TEXT,
  state TEXT NOT NULL,
  run_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  lease_token TEXT,
  lease_expires_at INTEGER,
  worker_id TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  result TEXT,
  error TEXT,
  progress TEXT,
  parent_id TEXT,
  on_child_dead TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  -- the W3C traceparent of the span that enqueued the task: the worker's spans join its trace
  traceparent TEXT
);
CREATE INDEX IF NOT EXISTS tasks_runnable ON tasks(capability, seq) WHERE state IN ('queued', 'retrying');
CREATE INDEX IF NOT EXISTS tasks_order ON tasks(order_key, seq)
  WHERE order_key IS NOT NULL AND state IN ('queued', 'active', 'retrying', 'waiting-children');
CREATE INDEX IF NOT EXISTS tasks_leases ON tasks(lease_expires_at) WHERE state = 'active';
CREATE INDEX IF NOT EXISTS tasks_state ON tasks(state, capability, run_at);
CREATE INDEX IF NOT EXISTS tasks_parent ON tasks(parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_finished ON tasks(finished_at) WHERE state IN ('completed', 'cancelled');

CREATE TABLE IF NOT EXISTS attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  worker_id TEXT,
  started_at INTEGER,
  ended_at INTEGER,
  outcome TEXT NOT NULL,
  error TEXT,
  retry_delay_ms INTEGER
);
CREATE INDEX IF NOT EXISTS attempts_task ON attempts(task_id, n);

CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL,
  capability TEXT NOT NULL,
  type TEXT NOT NULL,
  at INTEGER NOT NULL,
  attempt INTEGER,
  worker_id TEXT,
  stage TEXT,
  data TEXT,
  error TEXT,
  delay_ms INTEGER
);
CREATE INDEX IF NOT EXISTS events_task ON events(task_id, seq);

CREATE TABLE IF NOT EXISTS steps (
  task_id TEXT NOT NULL,
  step TEXT NOT NULL,
  result TEXT,
  PRIMARY KEY (task_id, step)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS workers (
  id TEXT PRIMARY KEY,
  info TEXT NOT NULL,
  heartbeat_at INTEGER NOT NULL
);
`;

export function applySchema(db: Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION)
    throw new Error(`task database schema v${version} is newer than this June (v${SCHEMA_VERSION})`);
  if (version < SCHEMA_VERSION) {
    db.transaction(() => {
      // v1 → v2: a task database made before tasks carried their trace context
      if (version === 1) db.exec('ALTER TABLE tasks ADD COLUMN traceparent TEXT');
      db.exec(ddl);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  }
}
