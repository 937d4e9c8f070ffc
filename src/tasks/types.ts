/**
 * The task model and the one TaskQueue interface that both queue backends implement (embedded SQLite,
 * BullMQ on Redis). Everything a user sends becomes a task; workers that advertise a capability claim
 * tasks of that capability under a lease, run them, and record the outcome.
 */

import type { CircuitState } from './circuit.js';

/**
 * queued → active → completed | retrying (failed, will run again after a backoff) | dead | cancelled.
 * A parent waits in 'waiting-children' until its children have settled.
 */
export const TASK_STATES = [
  'queued',
  'active',
  'retrying',
  'waiting-children',
  'completed',
  'dead',
  'cancelled',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const FINAL_STATES: ReadonlySet<TaskState> = new Set(['completed', 'dead', 'cancelled']);

/**
 * What happens to a parent when one of its children dies (or is cancelled):
 * - 'fail-parent' (default): the parent dies too, its error names the child;
 * - 'continue': the parent still runs once every child has settled and sees the dead child in `children()`.
 */
export type ChildDeadPolicy = 'fail-parent' | 'continue';

export interface TaskSpec {
  /** What to do, e.g. "channel.voice" (a voice message from a chat channel); selects the handler. */
  kind: string;
  /** Which workers may run it, e.g. "voice", "chat", "code" (lowercase letters, digits, underscore). */
  capability: string;
  /** JSON-serialisable input for the handler. */
  payload?: unknown;
  /** Tasks with the same key run one at a time, in the order they were enqueued. */
  conversationKey?: string;
  /** Enqueueing twice with the same key (and capability) gives the same task, not a second one. */
  idempotencyKey?: string;
  /** Run no earlier than this many ms from now. */
  delayMs?: number;
  /** Attempts before the task is dead-lettered (default: the queue's, 3). */
  maxAttempts?: number;
  /** Run first; the parent runs once they have settled. Children cannot have children of their own. */
  children?: TaskSpec[];
  onChildDead?: ChildDeadPolicy;
  /**
   * W3C trace context (`traceparent`) of the span that enqueued the task, so the worker's spans join the
   * trace of the message that caused it, in another process too. A child without its own gets its parent's.
   */
  traceparent?: string;
}

/** An error as recorded on a task: stable code, readable message, and whether a retry could help. */
export interface TaskError {
  code: string;
  message: string;
  retryable: boolean;
  userMessage?: string;
}

export interface ProgressEvent {
  stage: string;
  data?: unknown;
  at: number;
  attempt: number;
}

export interface Task {
  id: string;
  idempotencyKey?: string;
  kind: string;
  capability: string;
  payload: unknown;
  conversationKey?: string;
  state: TaskState;
  /** Attempts started so far (lease-expired ones included). */
  attempts: number;
  maxAttempts: number;
  createdAt: number;
  /** When a queued/retrying task becomes due. */
  runAt?: number;
  /** When the current or last attempt started. */
  startedAt?: number;
  finishedAt?: number;
  result?: unknown;
  error?: TaskError;
  parentId?: string;
  childIds: string[];
  onChildDead?: ChildDeadPolicy;
  /** Worker that runs (or last ran) the task. */
  workerId?: string;
  /** Latest progress report. */
  progress?: ProgressEvent;
  /** Cancellation was asked for while the task was running; it stops at its next heartbeat. */
  cancelRequested?: boolean;
  /** W3C trace context of the span that enqueued it (see TaskSpec.traceparent). */
  traceparent?: string;
}

export type AttemptOutcome = 'running' | 'completed' | 'failed' | 'lost' | 'cancelled' | 'released';

export interface AttemptRecord {
  n: number;
  workerId?: string;
  startedAt?: number;
  endedAt?: number;
  outcome: AttemptOutcome;
  error?: TaskError;
  /** For a failed attempt that will be retried: the backoff before the next one. */
  retryDelayMs?: number;
}

export type TaskEventType =
  'queued' | 'active' | 'progress' | 'completed' | 'retrying' | 'dead' | 'cancelled' | 'lost' | 'redriven';

export interface TaskEvent {
  taskId: string;
  capability: string;
  type: TaskEventType;
  at: number;
  attempt?: number;
  workerId?: string;
  stage?: string;
  data?: unknown;
  error?: TaskError;
  /** 'retrying': how long until the next attempt. */
  delayMs?: number;
}

export interface TaskDetail {
  task: Task;
  attempts: AttemptRecord[];
  /** State changes and progress, oldest first. */
  timeline: TaskEvent[];
}

/** A claimed task. The token fences every later write: once the lease is lost, they are refused. */
export interface Lease {
  task: Task;
  token: string;
  /** 1-based number of this attempt. */
  attempt: number;
  workerId: string;
}

export type HeartbeatResult = 'ok' | 'lost' | 'cancel-requested';
export type FailOutcome = 'retrying' | 'dead' | 'cancelled';

export interface ChildSummary {
  id: string;
  kind: string;
  capability: string;
  state: TaskState;
  result?: unknown;
  error?: TaskError;
}

/** Counts per capability. In-flight work (active) is never counted as new. */
export interface CapabilityStats {
  capability: string;
  /** Waiting to run and due. */
  new: number;
  /** Waiting for a future start time (never attempted). */
  delayed: number;
  active: number;
  /** Failed at least once and waiting for another attempt. */
  retrying: number;
  waitingChildren: number;
  completed: number;
  dead: number;
}

export interface WorkerInfo {
  id: string;
  capabilities: string[];
  concurrency: number;
  activeTaskIds: string[];
  /** activeTaskIds.length / concurrency */
  load: number;
  host: string;
  pid: number;
  startedAt: number;
  lastHeartbeatAt: number;
  /** Providers this worker found down, with the capabilities it paused for them (absent: none). */
  circuits?: CircuitState[];
}

export interface ListFilter {
  state?: TaskState;
  capability?: string;
  limit?: number;
}

export interface DeadLetterFilter {
  capability?: string;
  limit?: number;
}

export interface SubscribeFilter {
  taskId?: string;
  capability?: string;
}

export interface Subscription {
  close(): Promise<void>;
}

export interface TaskQueue {
  readonly backend: 'sqlite' | 'bullmq';

  // ---- producing
  /** Adds a task (and its children); returns its id. The same idempotency key returns the same id. */
  enqueue(spec: TaskSpec): Promise<string>;
  /** Cancels a task that has not finished. Running tasks stop at their next heartbeat. */
  cancel(id: string): Promise<boolean>;

  // ---- running (used by the worker runtime; behaviour-tested directly)
  /** Claims the oldest runnable task of one of the capabilities, or undefined. Never blocks. */
  claim(capabilities: readonly string[], workerId: string): Promise<Lease | undefined>;
  /** Extends the lease; tells the worker when the lease is gone or the task was cancelled. */
  heartbeat(lease: Lease): Promise<HeartbeatResult>;
  reportProgress(lease: Lease, stage: string, data?: unknown): Promise<void>;
  /**
   * Records the result. With `claimNext`, also claims the next task of the same capability in the same
   * round trip. Throws LeaseLostError when the lease was lost: the result is then not recorded.
   */
  complete(lease: Lease, result: unknown, options?: { claimNext?: boolean }): Promise<Lease | undefined>;
  /** Records a failed attempt: retried with backoff, dead (non-retryable or out of attempts) or cancelled. */
  fail(lease: Lease, error: unknown): Promise<FailOutcome>;
  /** Gives a claimed task back without counting the attempt (graceful shutdown). */
  release(lease: Lease): Promise<void>;
  /** The recorded result of a named step of this task, running `fn` only the first time. */
  once<T>(lease: Lease, step: string, fn: () => Promise<T>): Promise<T>;
  /** The children of a parent task with their outcomes. */
  children(taskId: string): Promise<ChildSummary[]>;
  /** Puts tasks whose lease expired back to run (or to dead when out of attempts). */
  recoverExpired(capabilities?: readonly string[]): Promise<void>;
  /** Resolves when work may be available for these capabilities, after at most `maxMs`. */
  waitForWork(capabilities: readonly string[], maxMs: number, signal?: AbortSignal): Promise<void>;

  // ---- visibility
  get(id: string): Promise<TaskDetail | undefined>;
  list(filter?: ListFilter): Promise<Task[]>;
  stats(): Promise<CapabilityStats[]>;
  subscribe(listener: (event: TaskEvent) => void, filter?: SubscribeFilter): Promise<Subscription>;

  // ---- dead letters
  listDead(filter?: DeadLetterFilter): Promise<Task[]>;
  /** Puts dead tasks back to run with fresh attempts. `all` with an optional capability, or one id. */
  redrive(target: { id: string } | { all: true; capability?: string }): Promise<number>;
  purgeDead(target: { id: string } | { all: true; capability?: string }): Promise<number>;

  // ---- workers registry
  registerWorker(info: WorkerInfo): Promise<void>;
  unregisterWorker(id: string): Promise<void>;
  listWorkers(): Promise<WorkerInfo[]>;

  close(): Promise<void>;
}

/** Settings shared by both backends. */
export interface QueueOptions {
  /** Attempts before dead (default 3). */
  maxAttempts?: number;
  /** Lease on an active task (default 30 s). */
  leaseMs?: number;
  /** First retry delay; doubles per attempt, with jitter (default 1 s). */
  retryBaseMs?: number;
  /** Longest retry delay (default 5 min). */
  retryMaxMs?: number;
}
