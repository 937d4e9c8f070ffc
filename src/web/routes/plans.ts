/**
 * Plans (multi-step tasks) in the web chat. A plan asked for on the page (`/plan TASK`, or the chat model's
 * `plan_task` tool in a web turn) replies to the web channel, whose sends deliver nothing: the page shows
 * the plan from these routes instead, as it shows a coding run. GET /v1/plans lists the plan roots of one
 * of the caller's conversations (the page looks for new ones after each turn and after a reload); GET
 * /v1/plans/:id is one root as the chat shows it: the status line chats get ("Plan: 2 of 4 done: …",
 * folded from the root's progress events like the Telegram status message), the plan, whether it waits
 * for approval, the answer and links to its files. POST …/approve is `/go` for that plan (the same
 * function, so the same rules: only the asker, once, idempotency key `go:<id>`); POST …/cancel stops the
 * tree; GET …/files/:index downloads a file of the answer. Visibility is GET /v1/tasks/:id's (and the
 * tree's): a user token sees the plans it asked for, admin sees all; others get 404.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { approvalOf, approvePlan, planReplyTarget } from '../../channels/plan-tasks.js';
import { planFinalLine, PlanStatusLine } from '../../channels/plan-status.js';
import type { InboundMessage } from '../../channels/types.js';
import {
  PLAN_RUN_CAPABILITY,
  PLAN_RUN_KIND,
  type Plan,
  type PlanProgressData,
  type PlanRunPayload,
  type PlanRunResult,
} from '../../planner/contract.js';
import { FINAL_STATES, type Task, type TaskDetail, type TaskState } from '../../tasks/types.js';
import { defineRoute, type AnyRoute } from '../api-route.js';
import type { Caller } from '../auth.js';
import type { WebDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import {
  PlanApproved,
  PlanCancelled,
  PlanFileParams,
  PlanList,
  PlanListQuery,
  PlanView,
} from '../plan-schemas.js';
import { TaskIdParams } from '../schemas.js';
import { canSee, errorView } from '../task-view.js';
import { WEB_CHANNEL } from '../web-adapter.js';
import type { TaskQueue } from '../../tasks/types.js';

/** Cancels a plan tree: the root and every subtask (the planner's cancelTree). */
export type CancelPlanTree = (queue: TaskQueue, rootId: string) => Promise<unknown>;

const MIME: Record<string, string> = {
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.json': 'application/json',
  '.csv': 'text/csv; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.pdf': 'application/pdf',
  '.diff': 'text/x-diff; charset=utf-8',
  '.patch': 'text/x-diff; charset=utf-8',
};

const SCAN_STATES: TaskState[] = ['queued', 'active', 'retrying', 'completed', 'dead', 'cancelled'];

export function planLinks(id: string): Record<string, string> {
  const base = `/v1/plans/${encodeURIComponent(id)}`;
  return {
    self: base,
    events: `/v1/tasks/${encodeURIComponent(id)}/events`,
    tree: `/v1/tasks/${encodeURIComponent(id)}/tree`,
    approve: `${base}/approve`,
    cancel: `${base}/cancel`,
  };
}

/** The caller's plan root, or 404 (also for other users' tasks and tasks that are not plans). */
async function planTask(deps: WebDeps, caller: Caller, id: string): Promise<TaskDetail> {
  const detail = await deps.queue.get(id).catch(() => undefined);
  if (!detail || detail.task.kind !== PLAN_RUN_KIND || !canSee(caller, detail.task))
    throw new ApiError('not_found', `No plan ${id}.`);
  return detail;
}

/** The status line a chat would show now, from the root's progress events (or how it ended). */
function statusLine(detail: TaskDetail): string {
  const { task } = detail;
  const result = task.result as PlanRunResult | undefined;
  if (task.state === 'completed' && result) return planFinalLine(result);
  if (task.state === 'cancelled') return planFinalLine({ status: 'cancelled' });
  if (task.state === 'dead') return planFinalLine({ status: 'failed' });
  const line = new PlanStatusLine();
  let now = line.line();
  for (const e of detail.timeline)
    if (e.type === 'progress' && e.stage) now = line.event(e.stage, e.data) ?? now;
  return now;
}

/** The plan: the result's, else the latest one the root reported. */
function planOf(detail: TaskDetail): Plan | undefined {
  const result = detail.task.result as PlanRunResult | undefined;
  if (result?.plan) return result.plan;
  let plan: Plan | undefined;
  for (const e of detail.timeline)
    if (e.type === 'progress' && e.stage === 'plan')
      plan = (e.data as PlanProgressData | undefined)?.plan ?? plan;
  return plan;
}

const isMine = (caller: Caller, task: Task) => {
  const reply = planReplyTarget(task.payload);
  return reply?.channel === WEB_CHANNEL && reply.userId === caller.userId;
};

/** The message `/go` would be: the asker's chat, as the caller. */
function approvalMessage(task: Task, caller: Caller): InboundMessage {
  const reply = planReplyTarget(task.payload);
  return {
    channel: WEB_CHANNEL,
    chatId: reply?.chatId ?? 'default',
    userId: caller.userId,
    messageId: `approve:${task.id}`,
    chatType: 'private',
    mentioned: false,
    repliedToBot: false,
    attachments: [],
    receivedAt: Date.now(),
  };
}

export function planRoutes(deps: WebDeps, cancelTree: CancelPlanTree): AnyRoute[] {
  const { queue, config } = deps;

  const view = async (detail: TaskDetail, caller: Caller): Promise<z.output<typeof PlanView>> => {
    const { task } = detail;
    const payload = task.payload as PlanRunPayload;
    const result = task.state === 'completed' ? (task.result as PlanRunResult | undefined) : undefined;
    const plan = planOf(detail);
    const approved = result?.status === 'awaiting-approval' ? await approvalOf(queue, task.id) : undefined;
    const reply = planReplyTarget(task.payload);
    return {
      id: task.id,
      state: task.state,
      request: payload.request,
      ...(reply?.channel === WEB_CHANNEL ? { conversation: reply.chatId } : {}),
      status: statusLine(detail),
      ...(plan ? { plan } : {}),
      needsApproval: result?.status === 'awaiting-approval' && !approved,
      mine: isMine(caller, task),
      ...(payload.approvedFrom ? { approvedFrom: payload.approvedFrom } : {}),
      ...(approved ? { approvedAs: approved.id } : {}),
      ...(result
        ? {
            result: {
              status: result.status,
              answer: result.answer ?? '',
              ...(result.summary ? { summary: result.summary } : {}),
              files: (result.files ?? []).map((f, i) => ({
                name: path.basename(f.name || f.path),
                url: `/v1/plans/${encodeURIComponent(task.id)}/files/${i}`,
              })),
              ...(result.limitHit ? { limitHit: result.limitHit } : {}),
            },
          }
        : {}),
      ...(task.error ? { error: errorView(task.error, caller.scope) } : {}),
      links: planLinks(task.id),
    };
  };

  return [
    defineRoute({
      method: 'GET',
      url: '/v1/plans',
      tag: 'plans',
      auth: 'user',
      summary: "The plans asked for in one of the caller's web conversations",
      description:
        'Plan roots (kind plan.run) that answer in the named web conversation and were asked for by the ' +
        'caller (`/plan TASK` typed there, the chat model starting one, or the approval of one), oldest ' +
        'first. The page reads it after each turn to show a plan that a turn started.',
      query: PlanListQuery,
      responses: { 200: { description: 'The plans', schema: PlanList } },
      async handler({ query, caller }) {
        const plans: z.output<typeof PlanList>['plans'] = [];
        for (const state of SCAN_STATES)
          for (const t of await queue.list({ capability: PLAN_RUN_CAPABILITY, state, limit: 1000 })) {
            if (t.kind !== PLAN_RUN_KIND) continue;
            const reply = planReplyTarget(t.payload);
            if (reply?.channel !== WEB_CHANNEL || reply.chatId !== query.conversation) continue;
            if (reply.userId !== caller.userId) continue;
            const from = (t.payload as PlanRunPayload).approvedFrom;
            plans.push({
              id: t.id,
              state: t.state,
              createdAt: t.createdAt,
              ...(from ? { approvedFrom: from } : {}),
              links: planLinks(t.id),
            });
          }
        plans.sort((a, b) => a.createdAt - b.createdAt);
        return { plans };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/plans/:id',
      tag: 'plans',
      auth: 'user',
      summary: 'A plan as the chat shows it: status line, plan, approval, answer and files',
      params: TaskIdParams,
      responses: {
        200: { description: 'The plan', schema: PlanView },
        404: { description: 'not_found (also for plans of other users, and tasks that are not plans)' },
      },
      async handler({ params, caller }) {
        return view(await planTask(deps, caller, params.id), caller);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/plans/:id/approve',
      tag: 'plans',
      auth: 'user',
      summary: 'Run a plan that waits for approval (the button, or /go)',
      description:
        'Enqueues a new plan root that runs the plan as shown (idempotency key `go:<id>`), as /go does in ' +
        'a chat. Only the user who asked for the plan may approve it, and only once: a second approval ' +
        'starts nothing and answers 409 with the running task named.',
      params: TaskIdParams,
      responses: {
        202: { description: 'Approved: the task that runs the plan', schema: PlanApproved },
        403: { description: 'forbidden: only the user who asked for the plan may approve it' },
        404: { description: 'not_found' },
        409: { description: 'conflict: the plan is not waiting for approval, or is already approved' },
      },
      async handler({ params, caller, reply }) {
        const { task } = await planTask(deps, caller, params.id);
        const result = task.state === 'completed' ? (task.result as PlanRunResult | undefined) : undefined;
        if (result?.status !== 'awaiting-approval')
          throw new ApiError('conflict', `Plan ${task.id} is not waiting for approval.`);
        if (!isMine(caller, task))
          throw new ApiError('forbidden', 'Only the person who asked for this plan can approve it.');
        const before = await approvalOf(queue, task.id);
        if (before)
          throw new ApiError('conflict', `Plan ${task.id} is already approved (task ${before.id}).`);
        const answer = await approvePlan(queue, approvalMessage(task, caller), task.id);
        const run = await approvalOf(queue, task.id);
        if (!run) throw new ApiError('conflict', answer);
        deps.logger.info({ taskId: task.id, run: run.id }, 'plan approved on the web');
        return reply.status(202).send({ taskId: run.id, links: planLinks(run.id) });
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/plans/:id/cancel',
      tag: 'plans',
      auth: 'user',
      summary: 'Cancel a plan: its root and every subtask',
      params: TaskIdParams,
      responses: {
        202: {
          description: 'Cancelled (a running subtask stops at its next heartbeat)',
          schema: PlanCancelled,
        },
        404: { description: 'not_found' },
        409: { description: 'conflict: the plan has already ended' },
      },
      async handler({ params, caller, reply }) {
        const { task } = await planTask(deps, caller, params.id);
        if (FINAL_STATES.has(task.state))
          throw new ApiError('conflict', `Plan ${task.id} has already ended (${task.state}).`);
        await cancelTree(queue, task.id);
        const now = (await queue.get(task.id))?.task ?? task;
        return reply.status(202).send({ id: now.id, state: now.state });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/plans/:id/files/:index',
      tag: 'plans',
      auth: 'user',
      summary: "Download a file of a plan's answer",
      description:
        "The index-th of result.files, as an attachment. The file is read from the server's data " +
        'directory (the workers that made it share it); one that is not there answers 404.',
      params: PlanFileParams,
      responses: {
        200: { description: 'The file', contentType: 'application/octet-stream' },
        404: { description: 'not_found: no such plan or file, or the file is not on this server' },
      },
      async handler({ params, caller, reply }) {
        const { task } = await planTask(deps, caller, params.id);
        const result = task.state === 'completed' ? (task.result as PlanRunResult | undefined) : undefined;
        const file = result?.files?.[params.index];
        if (!file) throw new ApiError('not_found', `Plan ${task.id} has no file ${params.index}.`);
        const data = await readInside(config.dataDir, file.path);
        if (!data)
          throw new ApiError('not_found', `The file ${path.basename(file.name)} is not on this server.`);
        const name = path.basename(file.name || file.path).replace(/[^\w.-]/g, '_');
        return reply
          .status(200)
          .header('content-type', MIME[path.extname(name).toLowerCase()] ?? 'application/octet-stream')
          .header('content-disposition', `attachment; filename="${name}"`)
          .header('x-content-type-options', 'nosniff')
          .header('cache-control', 'no-store')
          .send(data);
      },
    }),
  ];
}

/** The file's bytes when it is a regular file inside the data directory (links resolved), else undefined. */
async function readInside(dataDir: string, file: string): Promise<Buffer | undefined> {
  try {
    const root = await fs.realpath(dataDir);
    const real = await fs.realpath(file);
    if (!real.startsWith(root + path.sep)) return undefined;
    if (!(await fs.stat(real)).isFile()) return undefined;
    return await fs.readFile(real);
  } catch {
    return undefined;
  }
}
