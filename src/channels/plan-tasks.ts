/**
 * A chat's multi-step tasks (plans) on the queue: starting one (`/plan TASK`, or the chat model's
 * `plan_task` tool), approving a plan that waits for the user (`/go`, or the button under the plan) and
 * cancelling the running trees (`/cancel`). The gateway and the turn handler share these, so every way
 * in makes the same task: a `plan.run` root (src/planner/contract.ts) whose payload names the chat to
 * reply to, deduplicated by a key from the message that asked for it.
 *
 * Approval enqueues a new `plan.run` with the approved plan and the idempotency key `go:${oldId}`, so a
 * double click, `/go` after the button, or a redelivered button press approves once. Only the user who
 * asked for the plan may approve it. The tool is offered only where it can work: the config allows it
 * (plannerChatTool) and a worker serving the `plan` capability is registered right now.
 */
import type { TurnTool } from '../pipeline/types.js';
import {
  approvalIdempotencyKey,
  PLAN_RUN_CAPABILITY,
  PLAN_RUN_KIND,
  type Plan,
  type PlanRunPayload,
  type PlanRunResult,
} from '../planner/contract.js';
import type { Task, TaskQueue, TaskState } from '../tasks/types.js';
import { taskTool, workerServes, type ToolTurn } from './task-tool.js';
import { replyTarget } from './turn-task.js';
import type { InboundMessage, ReplyTarget } from './types.js';

export const PLAN_TOOL_NAME = 'plan_task';
export const PLANNED_TEXT =
  "I've started working on that as a multi-step task. I'll keep a status message here and send the result when it's done.";
export const PLAN_EMPTY_TEXT = "I couldn't start that task: I didn't get what it should do.";
export const NO_PLAN_WORKER_TEXT =
  'No worker here can run multi-step tasks right now (none serves the "plan" capability). ' +
  'Ask the owner to start one with JUNE_WORKER_CAPABILITIES including plan.';
export const NOTHING_TO_APPROVE_TEXT = 'There is no plan waiting for your approval here.';
export const NOT_YOURS_TEXT = 'Only the person who asked for this plan can approve it.';

/** Callback data of the approve button: `go:<task id>` (Telegram allows 64 bytes, Discord 100). */
export const APPROVE_DATA_PREFIX = 'go:';

/** Whether some registered worker serves plans. */
export function planWorkerAvailable(queue: TaskQueue): Promise<boolean> {
  return workerServes(queue, PLAN_RUN_CAPABILITY);
}

export interface PlanRequest {
  /** The message that asked (its chat gets the status, the plan, the answer). */
  message: InboundMessage;
  request: string;
  /** The user spoke: the summary goes back as a voice note too. */
  spoke?: boolean;
  language?: string;
  /** `/plan`: always plan, even for a request that looks like one step. */
  forcePlan?: boolean;
  /** Deduplicates: the same key gives the same task (a redelivered message, a retried turn). */
  idempotencyKey: string;
}

/** The user a plan belongs to, as the planner records it. */
export function planUserKey(msg: { channel: string; userId: string }): string {
  return `${msg.channel}:${msg.userId}`;
}

export async function enqueuePlanRun(queue: TaskQueue, r: PlanRequest): Promise<string> {
  const payload: PlanRunPayload = {
    request: r.request,
    userKey: planUserKey(r.message),
    reply: replyTarget(r.message),
    ...(r.spoke ? { spoke: true } : {}),
    ...(r.language ? { language: r.language } : {}),
    ...(r.forcePlan ? { forcePlan: true } : {}),
  };
  return queue.enqueue({
    kind: PLAN_RUN_KIND,
    capability: PLAN_RUN_CAPABILITY,
    payload,
    idempotencyKey: r.idempotencyKey,
  });
}

/** The chat a plan.run replies to, when its payload names one. */
export function planReplyTarget(payload: unknown): ReplyTarget | undefined {
  const reply = (payload as PlanRunPayload | undefined)?.reply as Partial<ReplyTarget> | undefined;
  if (!reply || typeof reply.channel !== 'string' || typeof reply.chatId !== 'string') return undefined;
  if (typeof reply.userId !== 'string') return undefined;
  return reply as ReplyTarget;
}

const sameChat = (t: ReplyTarget | undefined, msg: InboundMessage) =>
  t !== undefined && t.channel === msg.channel && t.chatId === msg.chatId;

async function planTasks(queue: TaskQueue, states: readonly TaskState[]): Promise<Task[]> {
  const out: Task[] = [];
  for (const state of states)
    for (const t of await queue.list({ capability: PLAN_RUN_CAPABILITY, state, limit: 1000 }))
      if (t.kind === PLAN_RUN_KIND) out.push(t);
  return out;
}

const awaiting = (t: Task) =>
  t.state === 'completed' && (t.result as PlanRunResult | undefined)?.status === 'awaiting-approval';

/** The plan.run that ran the approval of `oldId`, if any. */
export async function approvalOf(queue: TaskQueue, oldId: string): Promise<Task | undefined> {
  const all = await planTasks(queue, ['queued', 'active', 'retrying', 'completed', 'dead', 'cancelled']);
  return all.find((t) => (t.payload as PlanRunPayload | undefined)?.approvedFrom === oldId);
}

/**
 * `/go` (no id: the newest plan in this chat that waits for approval and was not approved yet) or the
 * button (`go:<id>`): runs the plan. Answers what the user is told.
 */
export async function approvePlan(queue: TaskQueue, msg: InboundMessage, taskId?: string): Promise<string> {
  let task: Task | undefined;
  if (taskId) {
    task = (await queue.get(taskId))?.task;
    if (!task || task.kind !== PLAN_RUN_KIND || !sameChat(planReplyTarget(task.payload), msg))
      return NOTHING_TO_APPROVE_TEXT;
    if (!awaiting(task)) return 'That plan is not waiting for approval.';
  } else {
    const candidates = (await planTasks(queue, ['completed']))
      .filter((t) => awaiting(t) && sameChat(planReplyTarget(t.payload), msg))
      .sort((a, b) => b.createdAt - a.createdAt);
    for (const t of candidates) {
      if (await approvalOf(queue, t.id)) continue;
      task = t;
      break;
    }
    if (!task) return NOTHING_TO_APPROVE_TEXT;
  }
  const asked = planReplyTarget(task.payload)!;
  if (asked.userId !== msg.userId) return NOT_YOURS_TEXT;
  const before = await approvalOf(queue, task.id);
  if (before) return `That plan is already approved (task ${before.id}).`;
  const old = task.payload as PlanRunPayload;
  const plan = (task.result as PlanRunResult).plan;
  if (!plan) return 'That plan cannot be run: its record has no plan.';
  const payload: PlanRunPayload = {
    request: old.request,
    ...(old.userKey ? { userKey: old.userKey } : {}),
    reply: asked,
    ...(old.spoke ? { spoke: true } : {}),
    ...(old.language ? { language: old.language } : {}),
    approvedPlan: plan satisfies Plan,
    approvedFrom: task.id,
  };
  const id = await queue.enqueue({
    kind: PLAN_RUN_KIND,
    capability: PLAN_RUN_CAPABILITY,
    payload,
    idempotencyKey: approvalIdempotencyKey(task.id),
  });
  return `Approved: running the plan (task ${id}). /cancel stops it.`;
}

const UNFINISHED: TaskState[] = ['queued', 'active', 'retrying'];

/** The plan trees this user started in this chat that have not finished, oldest first. */
export async function unfinishedPlans(queue: TaskQueue, msg: InboundMessage): Promise<string[]> {
  return (await planTasks(queue, UNFINISHED))
    .filter((t) => {
      const reply = planReplyTarget(t.payload);
      return sameChat(reply, msg) && reply!.userId === msg.userId;
    })
    .sort((a, b) => a.createdAt - b.createdAt)
    .map((t) => t.id);
}

/** Cancels a plan tree: the root and every subtask (the planner's cancelTree). */
export type CancelTree = (queue: TaskQueue, rootId: string) => Promise<unknown>;

/** `/cancel` for plans: cancels each unfinished tree of this user in this chat; answers how many. */
export async function cancelPlans(
  queue: TaskQueue,
  msg: InboundMessage,
  cancelTree: CancelTree,
): Promise<number> {
  let cancelled = 0;
  for (const id of await unfinishedPlans(queue, msg)) {
    await cancelTree(queue, id);
    cancelled++;
  }
  return cancelled;
}

/** Starts plans for a chat turn: what the turn handler needs to offer the tool. */
export interface PlanDelegation {
  /** Whether to offer the tool now. */
  available(): Promise<boolean>;
  start(r: PlanRequest): Promise<string>;
}

export function queuePlanDelegation(queue: TaskQueue, enabled: boolean): PlanDelegation {
  return {
    available: async () => enabled && (await planWorkerAvailable(queue)),
    start: (r) => enqueuePlanRun(queue, r),
  };
}

/**
 * The `plan_task` tool for one turn: a call enqueues a plan.run replying to the turn's chat (the n-th call
 * of a turn keeps its key, so a retried turn makes no second tree).
 */
export function planTool(delegation: PlanDelegation, turn: ToolTurn): TurnTool {
  return taskTool(
    {
      name: PLAN_TOOL_NAME,
      description:
        'Start a task that takes several steps (research on the web, then writing; changing code, then ' +
        'summarising; comparing several pages). A planner splits it into subtasks run by workers, keeps ' +
        'the user informed and sends the result when done. Describe the whole task; answer the user ' +
        'briefly afterwards.',
      taskDescription: 'The whole task, with every detail the user gave',
      emptyText: PLAN_EMPTY_TEXT,
      startedText: PLANNED_TEXT,
      keyPrefix: 'plan-tool',
      start: (request, idempotencyKey) =>
        delegation.start({
          message: turn.message,
          request,
          spoke: turn.spoke,
          ...(turn.language ? { language: turn.language } : {}),
          idempotencyKey,
        }),
    },
    turn,
  );
}
