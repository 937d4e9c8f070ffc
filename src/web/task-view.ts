/**
 * Tasks as the API shows them: the fields of the task, what the user sent (for channel messages), links
 * to follow it, and who may see it (a user token sees the tasks of its own web messages; admin sees all).
 */
import type { z } from 'zod';
import type { ChannelTurnPayload } from '../channels/gateway.js';
import type { Task, TaskDetail, TaskError as QueueTaskError, TaskEvent } from '../tasks/types.js';
import type { Caller } from './auth.js';
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
  return m?.channel === WEB_CHANNEL && m.userId === caller.userId;
}

export function errorView(e: QueueTaskError): z.output<typeof TaskError> {
  return {
    code: e.code,
    message: e.message,
    retryable: e.retryable,
    ...(e.userMessage ? { userMessage: e.userMessage } : {}),
  };
}

export function taskView(task: Task): z.output<typeof TaskView> {
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
    ...(task.error ? { error: errorView(task.error) } : {}),
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

export function eventView(e: TaskEvent): z.output<typeof TaskEventView> {
  return {
    taskId: e.taskId,
    capability: e.capability,
    type: e.type,
    at: e.at,
    ...(e.attempt !== undefined ? { attempt: e.attempt } : {}),
    ...(e.workerId !== undefined ? { workerId: e.workerId } : {}),
    ...(e.stage !== undefined ? { stage: e.stage } : {}),
    ...(e.data !== undefined ? { data: e.data } : {}),
    ...(e.error ? { error: errorView(e.error) } : {}),
    ...(e.delayMs !== undefined ? { delayMs: e.delayMs } : {}),
  };
}

export function taskDetailView(d: TaskDetail): z.output<typeof TaskDetailView> {
  return {
    ...taskView(d.task),
    attemptLog: d.attempts.map((a) => ({
      n: a.n,
      ...(a.workerId !== undefined ? { workerId: a.workerId } : {}),
      ...(a.startedAt !== undefined ? { startedAt: a.startedAt } : {}),
      ...(a.endedAt !== undefined ? { endedAt: a.endedAt } : {}),
      outcome: a.outcome,
      ...(a.error ? { error: errorView(a.error) } : {}),
      ...(a.retryDelayMs !== undefined ? { retryDelayMs: a.retryDelayMs } : {}),
    })),
    timeline: d.timeline.map(eventView),
  };
}
