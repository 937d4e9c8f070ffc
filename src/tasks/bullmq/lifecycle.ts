/**
 * Running tasks on BullMQ. Claims use BullMQ workers in manual mode: BullMQ's job lock is the lease
 * (token-checked on every write), its stalled-job check returns jobs of crashed workers to the queue,
 * and completing a task can fetch the next one in the same round trip, as BullMQ's own worker does.
 * This layer adds the attempt limit (lost attempts count too), the dead-letter index, the conversation
 * gate hand-over, cancellation and the attempt log.
 */
import type { Worker } from 'bullmq';
import { retryDelayMs } from '../backoff.js';
import { LeaseLostError, toTaskError, leaseExpiredError } from '../errors.js';
import type { FailOutcome, HeartbeatResult, Lease, TaskError } from '../types.js';
import type { BullmqContext, TaskJob } from './context.js';
import { decodeError, encodeError, parseLogs, taskFromJob, type JobData, type LogEntry } from './mapping.js';
import type { Producer } from './producer.js';

export interface LifecycleSettings {
  leaseMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

const LEASE_ERRORS = /Missing lock|Lock mismatch|not in the active state|Missing key/i;

export class BullmqLifecycle {
  /** BullMQ workers in manual mode, by worker id, then capability (the worker id is stored on its jobs) */
  private readonly workers = new Map<string, Map<string, Worker<JobData, unknown, string>>>();
  private readonly jobs = new WeakMap<Lease, TaskJob>();
  private tokenSeq = 0;

  constructor(
    private readonly ctx: BullmqContext,
    private readonly producer: Producer,
    private readonly settings: LifecycleSettings,
  ) {}

  private worker(cap: string, workerId: string): Worker<JobData, unknown, string> {
    let byCap = this.workers.get(workerId);
    if (!byCap) this.workers.set(workerId, (byCap = new Map()));
    let w = byCap.get(cap);
    if (!w) {
      w = new this.ctx.mod.Worker<JobData, unknown, string>(cap, null, {
        connection: this.ctx.redis,
        prefix: this.ctx.prefix,
        autorun: false,
        name: workerId,
        lockDuration: this.settings.leaseMs,
        stalledInterval: Math.max(100, Math.floor(this.settings.leaseMs / 2)),
        // lost attempts are counted (and limited) by this layer
        maxStalledCount: 1_000_000,
      });
      w.on('error', (err) => this.ctx.logger.warn({ err, capability: cap }, 'task worker connection error'));
      byCap.set(cap, w);
    }
    return w;
  }

  private leaseError(id: string, err: unknown): unknown {
    return err instanceof Error && LEASE_ERRORS.test(err.message) ? new LeaseLostError(id, err.message) : err;
  }

  /** The claimed job behind a lease (a lease made elsewhere is looked up). */
  private jobOf(lease: Lease): TaskJob | Promise<TaskJob> {
    return this.jobs.get(lease) ?? this.fetchJob(lease);
  }

  private async fetchJob(lease: Lease): Promise<TaskJob> {
    const job = await this.ctx.getJob(lease.task.id);
    if (!job) throw new LeaseLostError(lease.task.id, 'the task no longer exists');
    job.token = lease.token;
    this.jobs.set(lease, job);
    return job;
  }

  async claim(capabilities: readonly string[], workerId: string): Promise<Lease | undefined> {
    for (const cap of capabilities) {
      const worker = this.worker(cap, workerId);
      for (;;) {
        const token = `${workerId}:${++this.tokenSeq}`;
        const job = (await worker.getNextJob(token, { block: false })) as TaskJob | undefined;
        if (!job) break;
        const lease = await this.admit(cap, job, token, workerId);
        if (lease) return lease;
      }
    }
    return undefined;
  }

  /**
   * Checks a freshly claimed job. Returns undefined when the job is not to run: it was cancelled, its
   * parent policy killed it, it still waits for children (after a redrive), or its earlier attempts
   * were all lost. Such a claim does not count as an attempt.
   */
  private admit(
    cap: string,
    job: TaskJob,
    token: string,
    workerId: string,
  ): Lease | Promise<Lease | undefined> {
    // the common case (a first attempt with nothing to settle) needs no round trip: answer without a promise
    if (job.attemptsStarted === 1 && !job.data.x && !job.deferredFailure && !job.data.ch?.length)
      return this.leaseFor(cap, job, token, 1, workerId);
    return this.admitSlow(cap, job, token, workerId);
  }

  private leaseFor(cap: string, job: TaskJob, token: string, attempt: number, workerId: string): Lease {
    const lease: Lease = { task: taskFromJob(job, 'active', cap), token, attempt, workerId };
    lease.task.workerId = workerId;
    this.jobs.set(lease, job);
    return lease;
  }

  private async admitSlow(
    cap: string,
    job: TaskJob,
    token: string,
    workerId: string,
  ): Promise<Lease | undefined> {
    const id = job.id!;
    const data = job.data;
    if (data.x) {
      await this.uncount(id);
      await this.finalFail(job, token, cancelled(), 'cancelled');
      return undefined;
    }
    if (job.deferredFailure) {
      await this.uncount(id);
      await this.finalFail(job, token, await this.childDeath(job.deferredFailure), 'dead');
      return undefined;
    }
    if (data.ch?.length && (await job.moveToWaitingChildren(token))) {
      await this.uncount(id);
      return undefined;
    }
    const attempt = job.attemptsStarted;
    if (attempt > 1) {
      const lostEarlier = await this.recordLostAttempt(job, attempt - 1);
      if (attempt > data.m) {
        await this.uncount(id);
        await this.finalFail(job, token, lostEarlier ?? leaseExpiredError(), 'dead');
        return undefined;
      }
    }
    return this.leaseFor(cap, job, token, attempt, workerId);
  }

  /** BullMQ's "child <prefix>:<queue>:<id> failed" as our error, with the child's own reason. */
  private async childDeath(deferred: string): Promise<TaskError> {
    const childId = /child (\S+) failed/.exec(deferred)?.[1]?.split(':').pop();
    const child = childId ? await this.ctx.getJob(childId).catch(() => undefined) : undefined;
    const why = decodeError(child?.failedReason);
    const state = why?.code === 'cancelled' ? 'cancelled' : 'dead';
    const message = childId ? `child ${childId} ${state}${why ? `: ${why.message}` : ''}` : deferred;
    return { code: 'child_dead', message, retryable: false };
  }

  /** This claim is not an attempt (it only finalises or parks the job): BullMQ counted it; we take it back. */
  private async uncount(id: string): Promise<void> {
    await this.ctx.redis.hincrby(this.ctx.keys.job(id), 'ats', -1);
  }

  /** The previous attempt ended without a record of ours: its worker died. Logs it; returns its error. */
  private async recordLostAttempt(job: TaskJob, n: number): Promise<TaskError | undefined> {
    const { logs } = await this.ctx.queue(job.queueName).getJobLogs(job.id!);
    const entries = parseLogs(logs);
    const sinceRedrive = entries.slice(entries.map((e) => e.t).lastIndexOf('r') + 1);
    if (sinceRedrive.some((e) => e.t === 'a' && e.n >= n)) return undefined;
    const error = leaseExpiredError();
    const entry: LogEntry = { t: 'a', n, e: Date.now(), o: 'lost', err: error };
    await job.log(JSON.stringify(entry));
    return error;
  }

  /** Final failure: dead (indexed as a dead letter) or cancelled. Frees the conversation. */
  private async finalFail(
    job: TaskJob,
    token: string,
    error: TaskError,
    state: 'dead' | 'cancelled',
    entry?: LogEntry,
  ) {
    const id = job.id!;
    const cap = job.queueName;
    const { redis, keys } = this.ctx;
    // indexed before the move: a crash in between leaves an index entry that listings check and drop
    if (state === 'dead') await redis.zadd(keys.dlq(cap), Date.now(), id);
    try {
      if (entry) await job.log(JSON.stringify(entry));
      await job.moveToFailed(new this.ctx.mod.UnrecoverableError(encodeError(error)), token, false);
    } catch (err) {
      if (state === 'dead') await redis.zrem(keys.dlq(cap), id);
      throw this.leaseError(id, err);
    }
    if (state === 'cancelled') await redis.hdel(keys.cancel(), id);
    if (job.data.g && job.data.c !== undefined) await this.producer.advance(job.data.c, id);
  }

  async heartbeat(lease: Lease): Promise<HeartbeatResult> {
    const job = await this.jobOf(lease);
    const [extended, cancelRequested] = await Promise.all([
      job.extendLock(lease.token, this.settings.leaseMs),
      this.ctx.redis.hexists(this.ctx.keys.cancel(), lease.task.id),
    ]);
    if (!extended) return 'lost';
    return cancelRequested ? 'cancel-requested' : 'ok';
  }

  async reportProgress(lease: Lease, stage: string, data: unknown): Promise<void> {
    const job = await this.jobOf(lease);
    const at = Date.now();
    const entry: LogEntry = { t: 'p', n: lease.attempt, w: lease.workerId, st: stage, at };
    if (data !== undefined) entry.d = data;
    await Promise.all([
      job.updateProgress({ stage, data, at, attempt: lease.attempt } as object),
      job.log(JSON.stringify(entry)),
    ]);
  }

  async complete(lease: Lease, result: unknown, claimNext: boolean): Promise<Lease | undefined> {
    const job = await this.jobOf(lease);
    let next: unknown;
    try {
      next = await job.moveToCompleted(result ?? null, lease.token, claimNext);
    } catch (err) {
      throw this.leaseError(lease.task.id, err);
    }
    if (job.data.g && job.data.c !== undefined) await this.producer.advance(job.data.c, job.id!);
    if (!claimNext || !Array.isArray(next) || !next[0]) return undefined;
    // BullMQ locked the next job for us with the same token
    const worker = this.worker(job.queueName, lease.workerId);
    const nextJob = this.ctx.mod.Job.fromJSON(worker, next[0], next[1] as string) as TaskJob;
    nextJob.token = lease.token;
    return this.admit(job.queueName, nextJob, lease.token, lease.workerId);
  }

  async fail(lease: Lease, err: unknown): Promise<FailOutcome> {
    const job = await this.jobOf(lease);
    const error = toTaskError(err);
    const base = { t: 'a' as const, n: lease.attempt, w: lease.workerId, e: Date.now() };
    const started = lease.task.startedAt ? { s: lease.task.startedAt } : {};
    if (error.code === 'cancelled') {
      await this.finalFail(job, lease.token, error, 'cancelled', {
        ...base,
        ...started,
        o: 'cancelled',
        err: error,
      });
      return 'cancelled';
    }
    if (!error.retryable || lease.attempt >= job.data.m) {
      await this.finalFail(job, lease.token, error, 'dead', { ...base, ...started, o: 'failed', err: error });
      return 'dead';
    }
    // the retry is ours: the error goes on the job (as BullMQ's failedReason), the job back to delayed
    const delay = retryDelayMs(lease.attempt, this.settings.retryBaseMs, this.settings.retryMaxMs);
    const entry: LogEntry = { ...base, ...started, o: 'failed', err: error, d: delay };
    try {
      await Promise.all([
        job.log(JSON.stringify(entry)),
        this.ctx.redis.hset(this.ctx.keys.job(lease.task.id), 'failedReason', encodeError(error)),
      ]);
      await job.moveToDelayed(Date.now() + delay, lease.token);
    } catch (e) {
      throw this.leaseError(lease.task.id, e);
    }
    return 'retrying';
  }

  async release(lease: Lease): Promise<void> {
    const job = await this.jobOf(lease);
    const entry: LogEntry = { t: 'a', n: lease.attempt, w: lease.workerId, e: Date.now(), o: 'released' };
    // un-count the attempt while the lock is still ours, then hand the job back (front of the queue)
    await this.ctx.redis.hincrby(this.ctx.keys.job(lease.task.id), 'ats', -1);
    await job.log(JSON.stringify(entry));
    await job.moveToWait(lease.token);
  }

  async once<T>(lease: Lease, step: string, fn: () => Promise<T>): Promise<T> {
    const { redis, keys } = this.ctx;
    const [lock, recorded] = await Promise.all([
      redis.get(`${keys.job(lease.task.id)}:lock`),
      redis.hget(keys.steps(lease.task.id), step),
    ]);
    if (lock !== lease.token) throw new LeaseLostError(lease.task.id);
    if (recorded !== null) return (JSON.parse(recorded) as { v: T }).v;
    const value = await fn();
    const stepsKey = keys.steps(lease.task.id);
    // steps outlive the completed job's retention window, then go
    await redis
      .multi()
      .hset(stepsKey, step, JSON.stringify({ v: value }))
      .pexpire(stepsKey, 30 * 86_400_000)
      .exec();
    return value;
  }

  /** Jobs of crashed workers go back to wait (BullMQ's stalled check, rate-limited by BullMQ itself). */
  async recoverExpired(capabilities: readonly string[]): Promise<void> {
    for (const cap of capabilities) {
      const w =
        [...this.workers.values()].find((m) => m.has(cap))?.get(cap) ?? this.worker(cap, 'maintenance');
      // moveStalledJobsToWait is not in BullMQ's typings, but it is what its own stalled-check timer calls
      await (w as unknown as { moveStalledJobsToWait(): Promise<void> }).moveStalledJobsToWait();
    }
  }

  async close(): Promise<void> {
    const all = [...this.workers.values()].flatMap((m) => [...m.values()]);
    await Promise.allSettled(all.map((w) => w.close(true)));
  }
}

function cancelled(): TaskError {
  return { code: 'cancelled', message: 'cancelled by request', retryable: false, userMessage: 'Cancelled.' };
}
