/**
 * What the parts of the BullMQ queue share: the module (loaded lazily), the Redis connection, key names,
 * and one BullMQ Queue / QueueEvents per capability, created on first use.
 */
import type * as BullMQ from 'bullmq';
import type { FlowProducer, Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../observability/logger.js';
import { capabilityOf } from '../ids.js';
import type { JobData } from './mapping.js';
import { callScripts, type ScriptCalls } from './scripts.js';

export type BullMQModule = typeof BullMQ;
export type TaskJob = Job<JobData, unknown, string>;

export interface Retention {
  /** Completed jobs are removed after this long (default 24 h)… */
  completedAgeSec: number;
  /** …or when more than this many completed jobs of a capability are kept (default 10 000). */
  completedCount: number;
}

export class Keys {
  constructor(readonly prefix: string) {}
  queue = (cap: string) => `${this.prefix}:${cap}`;
  job = (id: string) => `${this.prefix}:${capabilityOf(id)}:${id}`;
  events = (cap: string) => `${this.prefix}:${cap}:events`;
  delayed = (cap: string) => `${this.prefix}:${cap}:delayed`;
  conv = (key: string) => `${this.prefix}:_:conv:${key}`;
  convs = () => `${this.prefix}:_:convs`;
  held = (cap: string) => `${this.prefix}:_:held:${cap}`;
  dlq = (cap: string) => `${this.prefix}:_:dlq:${cap}`;
  caps = () => `${this.prefix}:_:caps`;
  cancel = () => `${this.prefix}:_:cancel`;
  steps = (id: string) => `${this.prefix}:_:steps:${id}`;
  workers = () => `${this.prefix}:_:workers`;
}

export class BullmqContext {
  readonly keys: Keys;
  readonly scripts: ScriptCalls;
  private readonly queues = new Map<string, Queue<JobData, unknown, string>>();
  private readonly events = new Map<string, Promise<QueueEvents>>();
  private flow: FlowProducer | undefined;
  private readonly knownCaps = new Set<string>();

  constructor(
    readonly mod: BullMQModule,
    readonly redis: Redis,
    prefix: string,
    readonly maxAttempts: number,
    readonly retention: Retention,
    readonly logger: Logger,
  ) {
    this.keys = new Keys(prefix);
    this.scripts = callScripts(redis);
  }

  get prefix(): string {
    return this.keys.prefix;
  }

  queue(cap: string): Queue<JobData, unknown, string> {
    let q = this.queues.get(cap);
    if (!q) {
      q = new this.mod.Queue<JobData, unknown, string>(cap, { connection: this.redis, prefix: this.prefix });
      q.on('error', (err) => this.logger.warn({ err, capability: cap }, 'task queue connection error'));
      this.queues.set(cap, q);
    }
    return q;
  }

  flowProducer(): FlowProducer {
    this.flow ??= new this.mod.FlowProducer({ connection: this.redis, prefix: this.prefix });
    return this.flow;
  }

  /**
   * The capability's event stream, read from its current end: callers attach listeners right away and
   * miss nothing written after this call.
   */
  queueEvents(cap: string): Promise<QueueEvents> {
    let p = this.events.get(cap);
    if (!p) {
      p = (async () => {
        const last = (await this.redis.xrevrange(this.keys.events(cap), '+', '-', 'COUNT', 1))[0]?.[0] ?? '0';
        const qe = new this.mod.QueueEvents(cap, {
          connection: this.redis,
          prefix: this.prefix,
          lastEventId: last,
          blockingTimeout: 5000,
        });
        qe.on('error', (err) => this.logger.debug({ err, capability: cap }, 'task events connection error'));
        return qe;
      })();
      this.events.set(cap, p);
    }
    return p;
  }

  async getJob(id: string): Promise<TaskJob | undefined> {
    return (await this.mod.Job.fromId(this.queue(capabilityOf(id)), id)) as TaskJob | undefined;
  }

  knows(cap: string): boolean {
    return this.knownCaps.has(cap);
  }

  /** Remembers capabilities so that stats, listings and `watch` know every queue. */
  async noteCapability(cap: string): Promise<void> {
    if (this.knownCaps.has(cap)) return;
    await this.redis.sadd(this.keys.caps(), cap);
    this.knownCaps.add(cap);
  }

  async capabilities(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.caps())).sort();
  }

  async close(): Promise<void> {
    const closing: Promise<unknown>[] = [...this.queues.values()].map((q) => q.close());
    for (const p of this.events.values()) closing.push(p.then((qe) => qe.close()).catch(() => undefined));
    if (this.flow) closing.push(this.flow.close());
    await Promise.allSettled(closing);
  }
}
