/** Reading tasks back out of BullMQ: details, listings, stats, dead letters, redrive and purge. */
import { capabilityOf, isTaskId } from '../ids.js';
import type {
  CapabilityStats,
  ChildSummary,
  DeadLetterFilter,
  ListFilter,
  Task,
  TaskDetail,
  TaskSpec,
  TaskState,
} from '../types.js';
import type { BullmqContext, TaskJob } from './context.js';
import {
  attemptsFromJob,
  decodeError,
  mapState,
  parseLogs,
  taskFromJob,
  taskFromStored,
  timelineFromJob,
  type StoredSpec,
} from './mapping.js';
import type { Producer } from './producer.js';

type BullType = 'wait' | 'prioritized' | 'delayed' | 'active' | 'waiting-children' | 'completed' | 'failed';
const WAITING: BullType[] = ['wait', 'prioritized', 'delayed'];

function bullTypes(state: TaskState | undefined): BullType[] {
  switch (state) {
    case undefined:
      return [...WAITING, 'active', 'waiting-children', 'completed', 'failed'];
    case 'queued':
    case 'retrying':
      return WAITING;
    case 'dead':
    case 'cancelled':
      return ['failed', ...WAITING]; // a waiting task with a cancel request reads as cancelled
    default:
      return [state];
  }
}

export type DeadTarget = { id: string } | { all: true; capability?: string };

export class BullmqVisibility {
  constructor(
    private readonly ctx: BullmqContext,
    private readonly producer: Producer,
  ) {}

  /** Our state for a job, given BullMQ's: a dead task redriven into a busy conversation waits as queued. */
  private async stateOf(job: TaskJob, bullState: string): Promise<TaskState> {
    const state = mapState(bullState, job);
    if (state === 'dead' && job.data.g && (await this.producer.heldSpec(job.id!))) return 'queued';
    return state;
  }

  async get(id: string): Promise<TaskDetail | undefined> {
    if (!isTaskId(id)) return undefined;
    const cap = capabilityOf(id);
    let job = await this.ctx.getJob(id);
    if (!job) {
      const held = await this.producer.heldSpec(id);
      if (!held) return undefined;
      const task = taskFromStored(held, this.ctx.maxAttempts);
      return {
        task,
        attempts: [],
        timeline: [{ taskId: id, capability: cap, type: 'queued', at: held.createdAt }],
      };
    }
    let [bullState, { logs }] = await Promise.all([job.getState(), this.ctx.queue(cap).getJobLogs(id)]);
    // the job was read just before it finished (a cancel or a failure being recorded): without a second
    // read, its error is missing and a cancelled task reads as dead for a moment
    for (let i = 0; i < 3 && (bullState === 'completed' || bullState === 'failed') && !job.finishedOn; i++) {
      const again = await this.ctx.getJob(id);
      if (!again) break;
      job = again;
      [bullState, { logs }] = await Promise.all([job.getState(), this.ctx.queue(cap).getJobLogs(id)]);
    }
    const state = await this.stateOf(job, bullState);
    let runAt: number | undefined;
    if (bullState === 'delayed') {
      const score = await this.ctx.redis.zscore(this.ctx.keys.delayed(cap), id);
      if (score !== null) runAt = Math.floor(Number(score) / 0x1000);
    }
    const task = taskFromJob(job, state, cap, runAt);
    if (state === 'active' && (await this.ctx.redis.hexists(this.ctx.keys.cancel(), id)))
      task.cancelRequested = true;
    const entries = parseLogs(logs);
    const attempts = attemptsFromJob(job, state, entries);
    return { task, attempts, timeline: timelineFromJob(job, state, cap, attempts, entries) };
  }

  async list(filter: ListFilter = {}): Promise<Task[]> {
    const caps = filter.capability ? [filter.capability] : await this.ctx.capabilities();
    const limit = filter.limit ?? 100;
    const out: Task[] = [];
    for (const cap of caps) {
      const q = this.ctx.queue(cap);
      for (const type of bullTypes(filter.state)) {
        const jobs = (await q.getJobs(type, 0, limit - 1, false)) as TaskJob[];
        for (const job of jobs) {
          if (!job?.id) continue;
          const state = await this.stateOf(job, type);
          if (!filter.state || state === filter.state) out.push(taskFromJob(job, state, cap));
        }
      }
      if (!filter.state || filter.state === 'queued') {
        for (const raw of await this.ctx.redis.hvals(this.ctx.keys.held(cap))) {
          const stored = JSON.parse(raw) as StoredSpec;
          if (!stored.redrive) out.push(taskFromStored(stored, this.ctx.maxAttempts));
        }
      }
    }
    return out.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
  }

  async stats(): Promise<CapabilityStats[]> {
    const out: CapabilityStats[] = [];
    for (const cap of await this.ctx.capabilities()) {
      const k = this.ctx.keys;
      const [n, delayed, retrying, active, waitingChildren, completed, dead] =
        await this.ctx.scripts.juneStats(k.held(cap), k.dlq(cap), k.queue(cap));
      out.push({
        capability: cap,
        new: n ?? 0,
        delayed: delayed ?? 0,
        retrying: retrying ?? 0,
        active: active ?? 0,
        waitingChildren: waitingChildren ?? 0,
        completed: completed ?? 0,
        dead: dead ?? 0,
      });
    }
    return out;
  }

  async children(taskId: string): Promise<ChildSummary[]> {
    const parent = await this.ctx.getJob(taskId);
    const out: ChildSummary[] = [];
    for (const id of parent?.data.ch ?? []) {
      const job = await this.ctx.getJob(id);
      if (!job) continue;
      const state = mapState(await job.getState(), job);
      const c: ChildSummary = { id, kind: job.name, capability: capabilityOf(id), state };
      if (state === 'completed' && job.returnvalue !== null && job.returnvalue !== undefined)
        c.result = job.returnvalue;
      const error = state === 'dead' || state === 'cancelled' ? decodeError(job.failedReason) : undefined;
      if (error) c.error = error;
      out.push(c);
    }
    return out;
  }

  /**
   * Entries of the dead-letter index whose job really is dead; stale entries (a crash between indexing
   * and the move, a job removed by hand) are dropped on the way.
   */
  private async deadJobs(cap: string, limit: number): Promise<TaskJob[]> {
    const { redis, keys } = this.ctx;
    const ids = await redis.zrevrange(keys.dlq(cap), 0, limit - 1);
    const out: TaskJob[] = [];
    for (const id of ids) {
      const job = await this.ctx.getJob(id);
      const state = job ? await job.getState() : 'missing';
      if (job && state === 'failed' && decodeError(job.failedReason)?.code !== 'cancelled') out.push(job);
      else await redis.zrem(keys.dlq(cap), id);
    }
    return out;
  }

  async listDead(filter: DeadLetterFilter = {}): Promise<Task[]> {
    const caps = filter.capability ? [filter.capability] : await this.ctx.capabilities();
    const limit = filter.limit ?? 100;
    const out: Task[] = [];
    for (const cap of caps) {
      for (const job of await this.deadJobs(cap, limit)) {
        // a dead child of a dead parent is listed (and redriven) under its parent
        const parent = job.parent?.id;
        if (parent && (await this.ctx.redis.zscore(this.ctx.keys.dlq(capabilityOf(parent)), parent)) !== null)
          continue;
        out.push(taskFromJob(job, 'dead', cap));
      }
    }
    return out.sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0)).slice(0, limit);
  }

  private async targets(target: DeadTarget): Promise<TaskJob[]> {
    if ('id' in target) {
      if (!isTaskId(target.id)) return [];
      const score = await this.ctx.redis.zscore(this.ctx.keys.dlq(capabilityOf(target.id)), target.id);
      if (score === null) return [];
      return (await this.deadJobs(capabilityOf(target.id), 1_000_000)).filter((j) => j.id === target.id);
    }
    const caps = target.capability ? [target.capability] : await this.ctx.capabilities();
    const jobs: TaskJob[] = [];
    for (const cap of caps) jobs.push(...(await this.deadJobs(cap, 1_000_000)));
    // parents first: they take their dead children along
    return jobs.sort((a, b) => Number(Boolean(a.parent)) - Number(Boolean(b.parent)));
  }

  /** Dead children go back first (a parent then waits for them again), then the task itself. */
  async redrive(target: DeadTarget): Promise<number> {
    const { redis, keys } = this.ctx;
    let n = 0;
    for (const job of await this.targets(target)) {
      const id = job.id!;
      if ((await job.getState()) !== 'failed') continue; // taken along with its parent already
      for (const childId of job.data.ch ?? []) {
        const child = await this.ctx.getJob(childId);
        if (!child || (await child.getState()) !== 'failed') continue;
        await child.log(JSON.stringify({ t: 'r', at: Date.now() }));
        await child.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        await redis.zrem(keys.dlq(capabilityOf(childId)), childId);
      }
      await redis.zrem(keys.dlq(job.queueName), id);
      if (job.data.g && job.data.c !== undefined) {
        const spec: TaskSpec = { kind: job.name, capability: job.queueName, conversationKey: job.data.c };
        await this.producer.redriveGated(id, spec, job.data.c);
      } else await this.producer.retryDead(id);
      n++;
    }
    return n;
  }

  async purgeDead(target: DeadTarget): Promise<number> {
    const { redis, keys } = this.ctx;
    let n = 0;
    for (const job of await this.targets(target)) {
      const ids = [job.id!, ...(job.data.ch ?? [])];
      await job.remove({ removeChildren: true });
      for (const id of ids) {
        await redis.zrem(keys.dlq(capabilityOf(id)), id);
        await redis.del(keys.steps(id));
      }
      n++;
    }
    return n;
  }
}
