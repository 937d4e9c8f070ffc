/**
 * How a task lives in BullMQ: the job id is the task id, the job name its kind, and the job data a compact
 * record of the rest. Attempts that did not succeed and progress reports are kept as JSON lines in the
 * job's log, which BullMQ stores next to the job; the succeeding attempt is read from the job itself.
 */
import type {
  AttemptOutcome,
  AttemptRecord,
  ChildDeadPolicy,
  Task,
  TaskError,
  TaskEvent,
  TaskSpec,
  TaskState,
} from '../types.js';

export interface JobData {
  /** payload */
  p: unknown;
  /** conversation key */
  c?: string;
  /** idempotency key */
  k?: string;
  /** max attempts */
  m: number;
  /** 1: goes through the conversation gate (top-level task with a conversation key) */
  g?: 1;
  /** child ids */
  ch?: string[];
  oc?: ChildDeadPolicy;
  /** 1: cancel requested */
  x?: 1;
  /** W3C traceparent of the span that enqueued it */
  t?: string;
}

/** What the conversation gate holds for a task that is not in BullMQ yet. */
export interface StoredSpec {
  id: string;
  spec: TaskSpec;
  createdAt: number;
  /** A redriven dead task: retry the existing job instead of adding one. */
  redrive?: true;
}

export type LogEntry =
  | { t: 'a'; n: number; w?: string; s?: number; e: number; o: AttemptOutcome; err?: TaskError; d?: number }
  | { t: 'p'; n: number; w?: string; st: string; d?: unknown; at: number }
  | { t: 'r'; at: number };

/** The fields of a BullMQ job this module reads (Job satisfies it). */
export interface JobView {
  id?: string | undefined;
  name: string;
  data: JobData;
  timestamp: number;
  attemptsStarted: number;
  processedOn?: number | undefined;
  finishedOn?: number | undefined;
  failedReason?: string | undefined;
  returnvalue?: unknown;
  progress?: unknown;
  processedBy?: string | undefined;
  parent?: { id?: string | undefined } | undefined;
}

export function encodeError(e: TaskError): string {
  return `[${e.code}] ${e.message}`;
}

export function decodeError(reason: string | undefined | null): TaskError | undefined {
  if (!reason) return undefined;
  const m = /^\[([A-Za-z0-9_.-]+)\] ([\s\S]*)$/.exec(reason);
  // anything else was written by BullMQ itself (e.g. "job stalled more than allowable limit")
  return m
    ? { code: m[1]!, message: m[2]!, retryable: false }
    : { code: 'internal', message: reason, retryable: false };
}

export function parseLogs(lines: string[]): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of lines) {
    try {
      const v = JSON.parse(line) as LogEntry;
      if (v && typeof v === 'object' && 't' in v) out.push(v);
    } catch {
      // not one of ours
    }
  }
  return out;
}

export function mapState(bullState: string, job: JobView): TaskState {
  switch (bullState) {
    case 'active':
      return 'active';
    case 'waiting-children':
      return 'waiting-children';
    case 'completed':
      return 'completed';
    case 'failed':
      return decodeError(job.failedReason)?.code === 'cancelled' ? 'cancelled' : 'dead';
    default:
      // waiting, prioritized, delayed: a cancelled one is finalised by the next worker that claims it
      if (job.data.x) return 'cancelled';
      return job.attemptsStarted > 0 ? 'retrying' : 'queued';
  }
}

export function taskFromJob(job: JobView, state: TaskState, capability: string, runAt?: number): Task {
  const d = job.data;
  const task: Task = {
    id: job.id!,
    kind: job.name,
    capability,
    payload: d.p ?? null,
    state,
    attempts: job.attemptsStarted,
    maxAttempts: d.m,
    createdAt: job.timestamp,
    childIds: d.ch ?? [],
  };
  if (d.k !== undefined) task.idempotencyKey = d.k;
  if (d.c !== undefined) task.conversationKey = d.c;
  if (runAt !== undefined && (state === 'queued' || state === 'retrying')) task.runAt = runAt;
  if (job.processedOn) task.startedAt = job.processedOn;
  if (job.finishedOn && (state === 'completed' || state === 'dead' || state === 'cancelled'))
    task.finishedAt = job.finishedOn;
  if (state === 'completed' && job.returnvalue !== undefined && job.returnvalue !== null)
    task.result = job.returnvalue;
  if (state === 'dead' || state === 'cancelled' || state === 'retrying') {
    const err = decodeError(job.failedReason);
    if (err) task.error = { ...err, retryable: state === 'retrying' };
  }
  if (job.parent?.id) task.parentId = job.parent.id;
  if (d.ch?.length) task.onChildDead = d.oc ?? 'fail-parent';
  if (job.processedBy) task.workerId = job.processedBy;
  const progress = job.progress as Task['progress'] | number | undefined;
  if (progress && typeof progress === 'object' && 'stage' in progress) task.progress = progress;
  if (d.x && state === 'active') task.cancelRequested = true;
  if (d.t !== undefined) task.traceparent = d.t;
  return task;
}

/** A task held by the conversation gate (not in BullMQ yet). */
export function taskFromStored(stored: StoredSpec, maxAttempts: number): Task {
  const { spec } = stored;
  const task: Task = {
    id: stored.id,
    kind: spec.kind,
    capability: spec.capability,
    payload: spec.payload ?? null,
    state: 'queued',
    attempts: 0,
    maxAttempts: spec.maxAttempts ?? maxAttempts,
    createdAt: stored.createdAt,
    childIds: [],
  };
  if (spec.idempotencyKey !== undefined) task.idempotencyKey = spec.idempotencyKey;
  if (spec.conversationKey !== undefined) task.conversationKey = spec.conversationKey;
  if (spec.traceparent !== undefined) task.traceparent = spec.traceparent;
  return task;
}

export function attemptsFromJob(job: JobView, state: TaskState, logs: LogEntry[]): AttemptRecord[] {
  const out: AttemptRecord[] = [];
  for (const l of logs) {
    if (l.t !== 'a') continue;
    const a: AttemptRecord = { n: l.n, outcome: l.o, endedAt: l.e };
    if (l.w) a.workerId = l.w;
    if (l.s) a.startedAt = l.s;
    if (l.err) a.error = l.err;
    if (l.d !== undefined) a.retryDelayMs = l.d;
    out.push(a);
  }
  if (state === 'active' || state === 'completed') {
    const a: AttemptRecord = {
      n: job.attemptsStarted,
      outcome: state === 'active' ? 'running' : 'completed',
    };
    if (job.processedBy) a.workerId = job.processedBy;
    if (job.processedOn) a.startedAt = job.processedOn;
    if (state === 'completed' && job.finishedOn) a.endedAt = job.finishedOn;
    out.push(a);
  }
  return out;
}

export function timelineFromJob(
  job: JobView,
  state: TaskState,
  capability: string,
  attempts: AttemptRecord[],
  logs: LogEntry[],
): TaskEvent[] {
  const taskId = job.id!;
  const ev = (type: TaskEvent['type'], at: number, extra: Partial<TaskEvent> = {}): TaskEvent => ({
    taskId,
    capability,
    type,
    at,
    ...extra,
  });
  const out: TaskEvent[] = [ev('queued', job.timestamp)];
  for (const a of attempts) {
    const who = a.workerId ? { workerId: a.workerId } : {};
    if (a.startedAt) out.push(ev('active', a.startedAt, { attempt: a.n, ...who }));
    if (a.endedAt === undefined) continue;
    const err = a.error ? { error: a.error } : {};
    if (a.outcome === 'completed') out.push(ev('completed', a.endedAt, { attempt: a.n, ...who }));
    else if (a.outcome === 'lost') out.push(ev('lost', a.endedAt, { attempt: a.n, ...who, ...err }));
    else if (a.outcome === 'cancelled') out.push(ev('cancelled', a.endedAt, { attempt: a.n, ...err }));
    else if (a.outcome === 'failed' && a.retryDelayMs !== undefined)
      out.push(ev('retrying', a.endedAt, { attempt: a.n, ...err, delayMs: a.retryDelayMs }));
    else if (a.outcome === 'failed') out.push(ev('dead', a.endedAt, { attempt: a.n, ...err }));
  }
  for (const l of logs) {
    if (l.t === 'p') {
      const e = ev('progress', l.at, { attempt: l.n, stage: l.st });
      if (l.w) e.workerId = l.w;
      if (l.d !== undefined) e.data = l.d;
      out.push(e);
    } else if (l.t === 'r') out.push(ev('redriven', l.at));
  }
  // a task that died without an attempt of its own (its child died, or it was cancelled while waiting)
  if ((state === 'dead' || state === 'cancelled') && !out.some((e) => e.type === state) && job.finishedOn) {
    const error = decodeError(job.failedReason);
    out.push(ev(state, job.finishedOn, error ? { error } : {}));
  }
  return out.sort((a, b) => a.at - b.at);
}
