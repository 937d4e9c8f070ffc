/** Row shapes of the SQLite task database and their mapping to the task model. */
import type {
  AttemptOutcome,
  AttemptRecord,
  ChildDeadPolicy,
  Task,
  TaskError,
  TaskEvent,
  TaskEventType,
  TaskState,
} from '../types.js';

export interface TaskRow {
  seq: number;
  id: string;
  idempotency_key: string | null;
  kind: string;
  capability: string;
  payload: string;
  conversation_key: string | null;
  order_key: string | null;
  state: TaskState;
  run_at: number;
  attempts: number;
  max_attempts: number;
  lease_token: string | null;
  lease_expires_at: number | null;
  worker_id: string | null;
  cancel_requested: number;
  result: string | null;
  error: string | null;
  progress: string | null;
  parent_id: string | null;
  on_child_dead: ChildDeadPolicy | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  traceparent: string | null;
}

export interface AttemptRow {
  n: number;
  worker_id: string | null;
  started_at: number | null;
  ended_at: number | null;
  outcome: AttemptOutcome;
  error: string | null;
  retry_delay_ms: number | null;
}

export interface EventRow {
  seq: number;
  task_id: string;
  capability: string;
  type: TaskEventType;
  at: number;
  attempt: number | null;
  worker_id: string | null;
  stage: string | null;
  data: string | null;
  error: string | null;
  delay_ms: number | null;
}

export const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
export const parse = (text: string | null): unknown => (text === null ? undefined : JSON.parse(text));

export function toTask(row: TaskRow, childIds: string[] = []): Task {
  const task: Task = {
    id: row.id,
    kind: row.kind,
    capability: row.capability,
    payload: parse(row.payload) ?? null,
    state: row.state,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    createdAt: row.created_at,
    childIds,
  };
  if (row.idempotency_key !== null) task.idempotencyKey = row.idempotency_key;
  if (row.conversation_key !== null) task.conversationKey = row.conversation_key;
  if (row.state === 'queued' || row.state === 'retrying') task.runAt = row.run_at;
  if (row.started_at !== null) task.startedAt = row.started_at;
  if (row.finished_at !== null) task.finishedAt = row.finished_at;
  if (row.result !== null) task.result = parse(row.result);
  if (row.error !== null) task.error = parse(row.error) as TaskError;
  if (row.parent_id !== null) task.parentId = row.parent_id;
  if (row.on_child_dead !== null) task.onChildDead = row.on_child_dead;
  if (row.worker_id !== null) task.workerId = row.worker_id;
  if (row.progress !== null) task.progress = parse(row.progress) as Task['progress'];
  if (row.cancel_requested) task.cancelRequested = true;
  if (row.traceparent) task.traceparent = row.traceparent;
  return task;
}

export function toAttempt(row: AttemptRow): AttemptRecord {
  const a: AttemptRecord = { n: row.n, outcome: row.outcome };
  if (row.worker_id !== null) a.workerId = row.worker_id;
  if (row.started_at !== null) a.startedAt = row.started_at;
  if (row.ended_at !== null) a.endedAt = row.ended_at;
  if (row.error !== null) a.error = parse(row.error) as TaskError;
  if (row.retry_delay_ms !== null) a.retryDelayMs = row.retry_delay_ms;
  return a;
}

export function toEvent(row: EventRow): TaskEvent {
  const e: TaskEvent = { taskId: row.task_id, capability: row.capability, type: row.type, at: row.at };
  if (row.attempt !== null) e.attempt = row.attempt;
  if (row.worker_id !== null) e.workerId = row.worker_id;
  if (row.stage !== null) e.stage = row.stage;
  if (row.data !== null) e.data = parse(row.data);
  if (row.error !== null) e.error = parse(row.error) as TaskError;
  if (row.delay_ms !== null) e.delayMs = row.delay_ms;
  return e;
}
