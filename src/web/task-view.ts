/**
 * Tasks as the API shows them: the fields of the task, what the user sent (for channel messages), links
 * to follow it, and who may see it (a user token sees the tasks of its own web messages; admin sees all).
 * Errors show users only the sentence written for them; the internal detail is for admins.
 */
import type { z } from 'zod';
import { CODE_TASK_KIND, type CodeTaskPayload } from '../agent/code-contract.js';
import type { ChannelTurnPayload } from '../channels/turn-task.js';
import { PLAN_RUN_KIND } from '../planner/contract.js';
import type { Task, TaskDetail, TaskError as QueueTaskError, TaskEvent } from '../tasks/types.js';
import { redact } from '../util/redact.js';
import type { Caller, Scope } from './auth.js';
import type { TaskDetailView, TaskError, TaskEventView, TaskView } from './schemas.js';
import { WEB_CHANNEL } from './web-adapter.js';

export const taskLinks = (id: string, audio = false) => ({
  self: `/v1/tasks/${encodeURIComponent(id)}`,
  events: `/v1/tasks/${encodeURIComponent(id)}/events`,
  ...(audio ? { audio: `/v1/audio/${encodeURIComponent(id)}` } : {}),
});

function channelPayload(task: Task): ChannelTurnPayload | undefined {
  const p = task.payload as Partial<ChannelTurnPayload> | null | undefined;
  const m = p?.message;
  return m && typeof m.channel === 'string' && typeof m.userId === 'string'
    ? (p as ChannelTurnPayload)
    : undefined;
}

/** The reply audio id a channel task recorded in its result. */
export function resultAudioId(task: Task): string | undefined {
  const r = task.result as { audioId?: unknown } | undefined;
  return typeof r?.audioId === 'string' ? r.audioId : undefined;
}

export function canSee(caller: Caller, task: Task): boolean {
  if (caller.scope === 'admin') return true;
  const m = channelPayload(task)?.message;
  if (m) return m.channel === WEB_CHANNEL && m.userId === caller.userId;
  // a coding run started from the web (POST /v1/code, or /code typed on the page) names its web user
  // so does a plan (/plan typed on the page, or the chat model's plan_task in a web turn)
  const reply = (task.payload as Partial<CodeTaskPayload> | null | undefined)?.reply;
  return (
    (task.kind === CODE_TASK_KIND || task.kind === PLAN_RUN_KIND) &&
    reply?.channel === WEB_CHANNEL &&
    reply.userId === caller.userId
  );
}

/** What a user reads when the error carries no sentence of its own. */
const GENERIC_USER_MESSAGE = 'Something went wrong on my side. Please try again.';

/**
 * A recorded error as the caller may see it. Users get the sentence written for them (as `message` and
 * `userMessage`); the internal message (server URLs, upstream answers) is for admins only, and is scrubbed
 * of credentials for them too (records written before scrubbing existed may still hold some).
 */
export function errorView(e: QueueTaskError, scope: Scope): z.output<typeof TaskError> {
  const userMessage = redact(e.userMessage ?? GENERIC_USER_MESSAGE);
  return {
    code: e.code,
    message: scope === 'admin' ? redact(e.message) : userMessage,
    retryable: e.retryable,
    userMessage,
  };
}

export function taskView(task: Task, scope: Scope): z.output<typeof TaskView> {
  const payload = channelPayload(task);
  const m = payload?.message;
  const opt = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : { [k]: v });
  return {
    id: task.id,
    kind: task.kind,
    capability: task.capability,
    state: task.state,
    attempts: task.attempts,
    maxAttempts: task.maxAttempts,
    createdAt: task.createdAt,
    ...opt('runAt', task.runAt),
    ...opt('startedAt', task.startedAt),
    ...opt('finishedAt', task.finishedAt),
    ...opt('workerId', task.workerId),
    ...(task.progress
      ? {
          progress: {
            stage: task.progress.stage,
            ...opt('data', task.progress.data),
            at: task.progress.at,
            attempt: task.progress.attempt,
          },
        }
      : {}),
    ...(task.error ? { error: errorView(task.error, scope) } : {}),
    ...(task.cancelRequested ? { cancelRequested: true } : {}),
    ...(m
      ? {
          message: {
            channel: m.channel,
            conversation: m.chatId,
            userId: m.userId,
            ...opt('text', m.text),
            audio: payload.attachment !== undefined,
          },
        }
      : {}),
    ...opt('result', task.result),
    links: taskLinks(task.id, resultAudioId(task) !== undefined),
  };
}

export function eventView(e: TaskEvent, scope: Scope): z.output<typeof TaskEventView> {
  return {
    taskId: e.taskId,
    capability: e.capability,
    type: e.type,
    at: e.at,
    ...(e.attempt !== undefined ? { attempt: e.attempt } : {}),
    ...(e.workerId !== undefined ? { workerId: e.workerId } : {}),
    ...(e.stage !== undefined ? { stage: e.stage } : {}),
    ...(e.data !== undefined ? { data: e.data } : {}),
    ...(e.error ? { error: errorView(e.error, scope) } : {}),
    ...(e.delayMs !== undefined ? { delayMs: e.delayMs } : {}),
  };
}

export function taskDetailView(d: TaskDetail, scope: Scope): z.output<typeof TaskDetailView> {
  return {
    ...taskView(d.task, scope),
    attemptLog: d.attempts.map((a) => ({
      n: a.n,
      ...(a.workerId !== undefined ? { workerId: a.workerId } : {}),
      ...(a.startedAt !== undefined ? { startedAt: a.startedAt } : {}),
      ...(a.endedAt !== undefined ? { endedAt: a.endedAt } : {}),
      outcome: a.outcome,
      ...(a.error ? { error: errorView(a.error, scope) } : {}),
      ...(a.retryDelayMs !== undefined ? { retryDelayMs: a.retryDelayMs } : {}),
    })),
    timeline: d.timeline.map((e) => eventView(e, scope)),
  };
}
