/**
 * The scale-out task queue: BullMQ on Redis, one BullMQ queue per capability. Workers on any number of
 * machines claim from the queues of their capabilities; Redis holds everything, so a worker can die at any
 * point without losing a task. See ./lifecycle.ts for how leases, retries and dead letters map to BullMQ.
 */
import type { Redis } from 'ioredis';
import { getLogger, type Logger } from '../../observability/logger.js';
import { withActiveTraceparent } from '../../observability/trace-context.js';
import { capabilityOf, isTaskId, validateSpec } from '../ids.js';
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
import { checkEvictionPolicy, connectRedis } from './connection.js';
import { BullmqContext, type BullMQModule, type Retention } from './context.js';
import { subscribeToEvents } from './events.js';
import { BullmqLifecycle } from './lifecycle.js';
import { Producer } from './producer.js';
import { defineScripts } from './scripts.js';
import { BullmqVisibility, type DeadTarget } from './visibility.js';

export interface BullmqQueueOptions extends QueueOptions {
  /** redis://[:password@]host:port[/db] */
  url: string;
  /** Key prefix: queues of different June installations can share one Redis (default "june"). */
  prefix?: string;
  retention?: Partial<Retention>;
  logger?: Logger;
}

export async function openBullmqQueue(options: BullmqQueueOptions): Promise<BullmqTaskQueue> {
  const mod = await import('bullmq');
  const redis = await connectRedis(options.url);
  const logger = (options.logger ?? getLogger()).child({ component: 'tasks' });
  try {
    await checkEvictionPolicy(redis, logger);
    defineScripts(redis);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return new BullmqTaskQueue(mod, redis, options, logger);
}

export class BullmqTaskQueue implements TaskQueue {
  readonly backend = 'bullmq' as const;
  private readonly ctx: BullmqContext;
  private readonly producer: Producer;
  private readonly life: BullmqLifecycle;
  private readonly view: BullmqVisibility;
  private readonly wakeups = new Wakeups();
  private lastReconcile = 0;
  private readonly markerCaps = new Set<string>();
  private markerWatch: Promise<void> | undefined;
  private blocking: Redis | undefined;
  private dueTimer: NodeJS.Timeout | undefined;
  private dueAt: number | undefined;
  private closed = false;

  constructor(
    mod: BullMQModule,
    private readonly redis: Redis,
    options: BullmqQueueOptions,
    logger: Logger,
  ) {
    const retention: Retention = {
      completedAgeSec: options.retention?.completedAgeSec ?? 86_400,
      completedCount: options.retention?.completedCount ?? 10_000,
    };
    this.ctx = new BullmqContext(
      mod,
      redis,
      options.prefix ?? 'june',
      options.maxAttempts ?? 3,
      retention,
      logger,
    );
    // idle slots here wake on BullMQ's "waiting" events (see waitForWork), for work from any process
    this.producer = new Producer(this.ctx, () => undefined);
    this.life = new BullmqLifecycle(this.ctx, this.producer, {
      leaseMs: options.leaseMs ?? 30_000,
      retryBaseMs: options.retryBaseMs ?? 1000,
      retryMaxMs: options.retryMaxMs ?? 300_000,
    });
    this.view = new BullmqVisibility(this.ctx, this.producer);
  }

  // ---------------------------------------------------------------- producing

  async enqueue(spec: TaskSpec): Promise<string> {
    validateSpec(spec);
    return this.producer.enqueue(withActiveTraceparent(spec));
  }

  async cancel(id: string): Promise<boolean> {
    if (!isTaskId(id)) return false;
    const { redis, keys } = this.ctx;
    const held = await this.producer.heldSpec(id);
    if (held && !held.redrive && held.spec.conversationKey !== undefined) {
      // not in BullMQ yet: add it marked cancelled (a worker records the cancellation), out of the gate
      await this.producer.add(held, { gated: false, cancelled: true });
      await redis
        .multi()
        .lrem(keys.conv(held.spec.conversationKey), 1, id)
        .hdel(keys.held(held.spec.capability), id)
        .exec();
      await this.producer.advance(held.spec.conversationKey, '');
      this.wakeups.notify();
      return true;
    }
    const job = await this.ctx.getJob(id);
    if (!job) return false;
    const state = await job.getState();
    if (state === 'completed' || state === 'failed' || state === 'unknown') return false;
    // a running task sees the flag at its next heartbeat; a waiting one is finalised by whoever claims it
    await redis.hset(keys.cancel(), id, String(Date.now()));
    await job.updateData({ ...job.data, x: 1 });
    if (state === 'delayed') await job.promote().catch(() => undefined);
    for (const child of job.data.ch ?? []) await this.cancel(child);
    this.wakeups.notify();
    return true;
  }

  // ---------------------------------------------------------------- running

  /** (BullMQ sets its marker again after each claim: that wakes the next idle slot, see waitForWork.) */
  claim(capabilities: readonly string[], workerId: string): Promise<Lease | undefined> {
    return this.life.claim(capabilities, workerId);
  }

  heartbeat(lease: Lease): Promise<HeartbeatResult> {
    return this.life.heartbeat(lease);
  }

  reportProgress(lease: Lease, stage: string, data?: unknown): Promise<void> {
    return this.life.reportProgress(lease, stage, data);
  }

  complete(lease: Lease, result: unknown, options: { claimNext?: boolean } = {}): Promise<Lease | undefined> {
    return this.life.complete(lease, result, options.claimNext ?? false);
  }

  fail(lease: Lease, error: unknown): Promise<FailOutcome> {
    return this.life.fail(lease, error);
  }

  release(lease: Lease): Promise<void> {
    return this.life.release(lease);
  }

  once<T>(lease: Lease, step: string, fn: () => Promise<T>): Promise<T> {
    return this.life.once(lease, step, fn);
  }

  children(taskId: string): Promise<ChildSummary[]> {
    return this.view.children(taskId);
  }

  async recoverExpired(capabilities?: readonly string[]): Promise<void> {
    await this.life.recoverExpired(capabilities ?? (await this.ctx.capabilities()));
    if (Date.now() - this.lastReconcile > 1000) {
      this.lastReconcile = Date.now();
      await this.producer.reconcileConversations();
    }
  }

  /**
   * Idle slots sleep until BullMQ's marker for one of their queues appears: BullMQ sets it when a job
   * becomes available (and after every claim, so a burst wakes one slot after another, in any process),
   * or gives the time of the next delayed job. One blocking BZPOPMIN over all queues serves every idle
   * slot of this process; `maxMs` bounds the wait for anything missed.
   */
  async waitForWork(capabilities: readonly string[], maxMs: number, signal?: AbortSignal): Promise<void> {
    for (const cap of capabilities) this.markerCaps.add(cap);
    const waiting = this.wakeups.wait(maxMs, signal);
    this.markerWatch ??= this.watchMarkers().finally(() => (this.markerWatch = undefined));
    await waiting;
  }

  private async watchMarkers(): Promise<void> {
    if (!this.blocking) {
      this.blocking = this.redis.duplicate();
      this.blocking.on('error', () => undefined); // reconnects on its own; the loop retries
    }
    const conn = this.blocking;
    while (!this.closed && this.wakeups.waiting > 0) {
      const keys = [...this.markerCaps].map((cap) => `${this.ctx.keys.queue(cap)}:marker`);
      let popped: [string, string, string] | null;
      try {
        // short timeout: the loop ends soon after the last idle slot got work
        popped = (await conn.bzpopmin(...keys, 1)) as [string, string, string] | null;
      } catch {
        if (this.closed) return;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (!popped) continue;
      const at = Number(popped[2]);
      if (at <= Date.now()) this.wakeups.notifyOne();
      else this.wakeAt(at);
    }
  }

  /** A delayed task is due at `at`: wake a slot then (BullMQ promotes it when that slot claims). */
  private wakeAt(at: number): void {
    if (this.dueTimer && this.dueAt !== undefined && this.dueAt <= at) return;
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueAt = at;
    this.dueTimer = setTimeout(() => {
      this.dueTimer = undefined;
      this.dueAt = undefined;
      this.wakeups.notifyOne();
    }, at - Date.now());
    this.dueTimer.unref();
  }

  // ---------------------------------------------------------------- visibility

  get(id: string): Promise<TaskDetail | undefined> {
    return this.view.get(id);
  }

  list(filter?: ListFilter): Promise<Task[]> {
    return this.view.list(filter);
  }

  stats(): Promise<CapabilityStats[]> {
    return this.view.stats();
  }

  subscribe(listener: (event: TaskEvent) => void, filter: SubscribeFilter = {}): Promise<Subscription> {
    return subscribeToEvents(this.ctx, listener, filter);
  }

  // ---------------------------------------------------------------- dead letters

  listDead(filter?: DeadLetterFilter): Promise<Task[]> {
    return this.view.listDead(filter);
  }

  async redrive(target: DeadTarget): Promise<number> {
    const n = await this.view.redrive(target);
    if (n) this.wakeups.notify();
    return n;
  }

  purgeDead(target: DeadTarget): Promise<number> {
    return this.view.purgeDead(target);
  }

  // ---------------------------------------------------------------- workers

  async registerWorker(info: WorkerInfo): Promise<void> {
    await this.redis.hset(this.ctx.keys.workers(), info.id, JSON.stringify(info));
  }

  async unregisterWorker(id: string): Promise<void> {
    await this.redis.hdel(this.ctx.keys.workers(), id);
  }

  async listWorkers(): Promise<WorkerInfo[]> {
    const all = await this.redis.hgetall(this.ctx.keys.workers());
    const out: WorkerInfo[] = [];
    for (const [id, raw] of Object.entries(all)) {
      const info = JSON.parse(raw) as WorkerInfo;
      // workers that stopped without unregistering (killed) disappear after an hour
      if (Date.now() - info.lastHeartbeatAt > 3_600_000) await this.redis.hdel(this.ctx.keys.workers(), id);
      else out.push(info);
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeups.notify();
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.blocking?.disconnect();
    await this.life.close();
    await this.ctx.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export { capabilityOf };
