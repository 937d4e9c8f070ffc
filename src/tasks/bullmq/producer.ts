/**
 * Putting tasks into BullMQ: plain tasks, parents with children (a BullMQ flow), and the conversation
 * gate that keeps all but the oldest unfinished task of a conversation out of BullMQ.
 */
import type { JobsOptions } from 'bullmq';
import { childTaskId, capabilityOf, newTaskId } from '../ids.js';
import type { TaskSpec } from '../types.js';
import type { BullmqContext } from './context.js';
import type { JobData, StoredSpec } from './mapping.js';

export class Producer {
  private readonly keepCompleted: { age: number; count: number };

  constructor(
    private readonly ctx: BullmqContext,
    /** Called when work may have become available (wakes idle workers in this process). */
    private readonly onWork: () => void,
  ) {
    this.keepCompleted = { age: ctx.retention.completedAgeSec, count: ctx.retention.completedCount };
  }

  async enqueue(spec: TaskSpec): Promise<string> {
    const { ctx } = this;
    const id = newTaskId(spec.capability, spec.idempotencyKey);
    if (!ctx.knows(spec.capability)) await ctx.noteCapability(spec.capability);
    if (spec.children) for (const child of spec.children) await ctx.noteCapability(child.capability);
    const createdAt = Date.now();
    if (spec.conversationKey === undefined && !spec.children?.length) {
      // the common case, straight to BullMQ (deduplicated there by job id)
      const data = this.jobData(spec, false);
      const opts = this.jobOptions(createdAt, spec.delayMs, false);
      opts.jobId = id;
      await ctx.queue(spec.capability).add(spec.kind, data, opts);
      return id;
    }
    const stored: StoredSpec = { id, spec, createdAt };
    if (spec.conversationKey === undefined) {
      await this.add(stored, { gated: false });
      this.onWork();
      return id;
    }
    const k = ctx.keys;
    const r = await ctx.scripts.juneGateEnqueue(
      k.conv(spec.conversationKey),
      k.held(spec.capability),
      k.job(id),
      k.convs(),
      id,
      JSON.stringify(stored),
      spec.conversationKey,
    );
    if (r === 1) await this.promote(stored); // first in its conversation: runs now
    return id;
  }

  /** Hands a held task to BullMQ, then drops it from the gate's holding area (in that order: crash-safe). */
  async promote(stored: StoredSpec): Promise<void> {
    if (stored.redrive) await this.retryDead(stored.id);
    else await this.add(stored, { gated: true });
    await this.ctx.redis.hdel(this.ctx.keys.held(stored.spec.capability), stored.id);
    this.onWork();
  }

  /** The conversation's finished head leaves the gate; the next held task (if any) goes to BullMQ. */
  async advance(conversationKey: string, finishedId: string): Promise<void> {
    const k = this.ctx.keys;
    const next = await this.ctx.scripts.juneGateAdvance(
      k.conv(conversationKey),
      k.convs(),
      this.ctx.prefix,
      conversationKey,
      finishedId,
    );
    if (next) await this.promote(JSON.parse(next[1]) as StoredSpec);
  }

  /** Repairs gates left behind by a crash between two steps (a finished head, a head never handed over). */
  async reconcileConversations(): Promise<void> {
    for (const key of await this.ctx.redis.smembers(this.ctx.keys.convs())) await this.advance(key, '');
  }

  /** A redriven gated task waits behind the conversation's running task, or retries now if there is none. */
  async redriveGated(id: string, spec: TaskSpec, conversationKey: string): Promise<void> {
    const k = this.ctx.keys;
    const stored: StoredSpec = { id, spec, createdAt: Date.now(), redrive: true };
    const r = await this.ctx.scripts.juneGateRedrive(
      k.conv(conversationKey),
      k.held(spec.capability),
      k.convs(),
      id,
      JSON.stringify(stored),
      conversationKey,
    );
    if (r === 1) await this.retryDead(id);
  }

  async retryDead(id: string): Promise<void> {
    const job = await this.ctx.getJob(id);
    if (!job || (await job.getState()) !== 'failed') return;
    await job.log(JSON.stringify({ t: 'r', at: Date.now() }));
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    this.onWork();
  }

  jobData(spec: TaskSpec, gated: boolean, cancelled = false): JobData {
    const data: JobData = { p: spec.payload ?? null, m: spec.maxAttempts ?? this.ctx.maxAttempts };
    if (spec.conversationKey !== undefined) data.c = spec.conversationKey;
    if (spec.idempotencyKey !== undefined) data.k = spec.idempotencyKey;
    if (gated) data.g = 1;
    if (cancelled) data.x = 1;
    if (spec.traceparent !== undefined) data.t = spec.traceparent;
    return data;
  }

  /** Only what differs from BullMQ's defaults: job options are stored with every job and read on every claim. */
  private jobOptions(createdAt: number, delayMs: number | undefined, held: boolean) {
    // retries and their backoff are this layer's (see lifecycle.ts), so BullMQ's attempts stay at 1;
    // failed (dead or cancelled) jobs are kept, BullMQ's default: the dead-letter index points at them
    const opts: JobsOptions = { removeOnComplete: this.keepCompleted };
    const now = Date.now();
    const delay = createdAt + (delayMs ?? 0) - now;
    if (delay > 0) opts.delay = delay;
    // a task held by its conversation was created earlier than it is added
    if (held) opts.timestamp = createdAt;
    return opts;
  }

  /** Adds the job (idempotent by job id). `cancelled`: added only so that a worker records the cancel. */
  async add(stored: StoredSpec, options: { gated: boolean; cancelled?: boolean }): Promise<void> {
    const { ctx } = this;
    const { id, spec, createdAt } = stored;
    const data = this.jobData(spec, options.gated, options.cancelled);
    const opts = this.jobOptions(createdAt, spec.delayMs, options.gated);
    if (!spec.children?.length) {
      await ctx.queue(spec.capability).add(spec.kind, data, { ...opts, jobId: id });
      return;
    }
    // a flow re-added under an existing parent id would attach new children to it: check first
    if (await ctx.redis.exists(ctx.keys.job(id))) return;
    data.ch = spec.children.map((c, i) => childTaskId(id, c.capability, i));
    data.oc = spec.onChildDead ?? 'fail-parent';
    const policy =
      data.oc === 'continue' ? { ignoreDependencyOnFailure: true } : { failParentOnFailure: true };
    await ctx.flowProducer().add({
      name: spec.kind,
      queueName: spec.capability,
      data,
      opts: { ...opts, jobId: id },
      children: spec.children.map((c, i) => ({
        name: c.kind,
        queueName: c.capability,
        data: this.jobData(
          c.traceparent || !spec.traceparent ? c : { ...c, traceparent: spec.traceparent },
          false,
          options.cancelled,
        ),
        opts: { ...this.jobOptions(createdAt, c.delayMs, options.gated), jobId: data.ch![i]!, ...policy },
      })),
    });
  }

  /** The capability of a held task, from the gate's holding area. */
  async heldSpec(id: string): Promise<StoredSpec | undefined> {
    const raw = await this.ctx.redis.hget(this.ctx.keys.held(capabilityOf(id)), id);
    return raw ? (JSON.parse(raw) as StoredSpec) : undefined;
  }
}
