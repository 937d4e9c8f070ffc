/**
 * Live task events from BullMQ's per-queue event streams, translated to June's event types. BullMQ writes
 * these events inside its own scripts, so following them costs the workers nothing.
 */
import type { QueueEvents } from 'bullmq';
import { capabilityOf } from '../ids.js';
import type { Subscription, SubscribeFilter, TaskEvent } from '../types.js';
import type { BullmqContext } from './context.js';
import { decodeError } from './mapping.js';

type Args = Record<string, unknown> & { jobId: string };

export async function subscribeToEvents(
  ctx: BullmqContext,
  listener: (event: TaskEvent) => void,
  filter: SubscribeFilter,
): Promise<Subscription> {
  const fixed = filter.taskId
    ? [capabilityOf(filter.taskId)]
    : filter.capability
      ? [filter.capability]
      : undefined;
  const attached = new Map<string, { qe: QueueEvents; off: () => void }>();
  // a job seen running that becomes delayed is retrying; one delayed from the start is scheduled
  const seenActive = new Set<string>();

  const attach = async (cap: string) => {
    if (attached.has(cap)) return;
    const qe = await ctx.queueEvents(cap);
    const emit = (type: TaskEvent['type'], a: Args, extra: Partial<TaskEvent> = {}) => {
      if (filter.taskId && a.jobId !== filter.taskId) return;
      listener({ taskId: a.jobId, capability: cap, type, at: Date.now(), ...extra });
    };
    const handlers: Record<string, (a: Args) => void> = {
      waiting: (a) => {
        if (a.prev === undefined || a.prev === 'waiting-children') emit('queued', a);
        else if (a.prev === 'failed') emit('redriven', a);
      },
      active: (a) => {
        seenActive.add(a.jobId);
        emit('active', a);
      },
      progress: (a) => {
        const d = (a.data ?? {}) as { stage?: string; data?: unknown; attempt?: number };
        const extra: Partial<TaskEvent> = {};
        if (d.stage !== undefined) extra.stage = d.stage;
        if (d.data !== undefined) extra.data = d.data;
        if (d.attempt !== undefined) extra.attempt = d.attempt;
        emit('progress', a, extra);
      },
      completed: (a) => {
        seenActive.delete(a.jobId);
        emit('completed', a);
      },
      failed: (a) => {
        seenActive.delete(a.jobId);
        const error = decodeError(a.failedReason as string | undefined);
        emit(error?.code === 'cancelled' ? 'cancelled' : 'dead', a, error ? { error } : {});
      },
      delayed: (a) => {
        const delayMs = Math.max(0, Number(a.delay) - Date.now());
        emit(seenActive.has(a.jobId) ? 'retrying' : 'queued', a, { delayMs });
      },
      stalled: (a) => emit('lost', a),
    };
    for (const [name, h] of Object.entries(handlers)) qe.on(name as 'waiting', h as never);
    attached.set(cap, {
      qe,
      off: () => {
        for (const [name, h] of Object.entries(handlers)) qe.off(name as 'waiting', h as never);
      },
    });
  };

  for (const cap of fixed ?? (await ctx.capabilities())) await attach(cap);
  // without a filter, capabilities that appear later are followed too
  const refresh = fixed
    ? undefined
    : setInterval(() => {
        void ctx
          .capabilities()
          .then(async (caps) => {
            for (const cap of caps) await attach(cap);
          })
          .catch(() => undefined);
      }, 2000);
  refresh?.unref();

  return {
    close: async () => {
      if (refresh) clearInterval(refresh);
      for (const { off } of attached.values()) off();
      attached.clear();
    },
  };
}
