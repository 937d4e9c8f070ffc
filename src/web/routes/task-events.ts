/**
 * Live task events as Server-Sent Events.
 *
 * GET /v1/tasks/:id/events — one task. A subscriber first gets `state` (the task now), then the task's
 * recorded events in order (so a late subscriber catches up on the transcript and sentences), then live
 * ones; the stream ends with `completed` (result + audio URL), `dead` (the error) or `cancelled`.
 * Events: state, queued, active, stage {stage, durationMs, ok}, transcript {text, language},
 * sentence {index, text}, retract {sentences} (the sentences so far were the model thinking: remove them),
 * audio {index, durationSec, url} (a spoken sentence's clip, web turns only; {index, failed} if it could
 * not be made),
 * progress {stage, data} (other reports), retrying {attempt, error, delayMs},
 * lost, redriven, completed, dead, cancelled.
 *
 * GET /v1/tasks/events — every task the caller may see: `snapshot` {tasks} first, then `task`
 * {event, task} for each change, for the web page's live task list.
 */
import { FINAL_STATES, type Task, type TaskEvent } from '../../tasks/types.js';
import { defineRoute, type AnyRoute } from '../api-route.js';
import type { Scope } from '../auth.js';
import type { WebDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { TaskIdParams, TaskStreamQuery } from '../schemas.js';
import type { SseStream } from '../sse.js';
import { canSee, errorView, eventView, resultAudioId, taskLinks, taskView } from '../task-view.js';

const PIPELINE_STAGES = new Set(['decode', 'vad', 'stt', 'llm', 'tts', 'encode']);

/** The SSE event for a recorded task event; final events are sent from the task itself (finalEvent). */
function translate(e: TaskEvent, scope: Scope): { event: string; data: unknown } | undefined {
  const base = { at: e.at, ...(e.attempt !== undefined ? { attempt: e.attempt } : {}) };
  switch (e.type) {
    case 'progress': {
      const data = (e.data ?? {}) as Record<string, unknown>;
      if (e.stage === 'transcript') return { event: 'transcript', data: { ...base, ...data } };
      if (e.stage === 'sentence') return { event: 'sentence', data: { ...base, ...data } };
      if (e.stage === 'retract') return { event: 'retract', data: { ...base, ...data } };
      if (e.stage === 'audio') {
        const index = Number(data.index);
        const url = data.failed
          ? {}
          : { url: `/v1/audio/${encodeURIComponent(e.taskId)}/sentences/${index}` };
        return { event: 'audio', data: { ...base, ...data, ...url } };
      }
      if (e.stage && PIPELINE_STAGES.has(e.stage))
        return { event: 'stage', data: { ...base, stage: e.stage, ...data } };
      return { event: 'progress', data: { ...base, stage: e.stage, data: e.data } };
    }
    case 'retrying':
      return {
        event: 'retrying',
        data: { ...base, ...(e.error ? { error: errorView(e.error, scope) } : {}), delayMs: e.delayMs },
      };
    case 'queued':
    case 'active':
    case 'lost':
    case 'redriven':
      return { event: e.type, data: { ...base, ...(e.workerId ? { workerId: e.workerId } : {}) } };
    default:
      return undefined;
  }
}

function finalEvent(task: Task, scope: Scope): { event: string; data: unknown } {
  const audioId = resultAudioId(task);
  switch (task.state) {
    case 'completed':
      return {
        event: 'completed',
        data: {
          state: task.state,
          result: task.result,
          ...(audioId ? { audioUrl: taskLinks(task.id, true).audio } : {}),
        },
      };
    case 'dead':
      return {
        event: 'dead',
        data: { state: task.state, ...(task.error ? { error: errorView(task.error, scope) } : {}) },
      };
    default:
      return { event: 'cancelled', data: { state: task.state } };
  }
}

const eventKey = (e: TaskEvent) =>
  `${e.type}|${e.at}|${e.stage ?? ''}|${e.attempt ?? ''}|${JSON.stringify(e.data ?? null)}`;

async function followTask(deps: WebDeps, sse: SseStream, id: string, scope: Scope): Promise<void> {
  // subscribe first and hold live events back, so nothing falls between the snapshot and the live feed
  const buffered: TaskEvent[] = [];
  let live = false;
  let busy = Promise.resolve();
  const onLive = async (e: TaskEvent) => {
    if (sse.closed) return;
    if (FINAL_STATES.has(e.type as Task['state'])) {
      const task = (await deps.queue.get(id))?.task;
      if (task && FINAL_STATES.has(task.state)) {
        const f = finalEvent(task, scope);
        sse.send(f.event, f.data);
        sse.close();
      }
      return;
    }
    const t = translate(e, scope);
    if (t) sse.send(t.event, t.data);
  };
  const sub = await deps.queue.subscribe(
    (e) => {
      if (!live) buffered.push(e);
      else busy = busy.then(() => onLive(e)).catch(() => sse.close());
    },
    { taskId: id },
  );
  sse.onClose(() => void sub.close());

  const detail = await deps.queue.get(id);
  if (!detail) return sse.close();
  sse.send('state', taskView(detail.task, scope));
  const seen = new Set<string>();
  for (const e of detail.timeline) {
    seen.add(eventKey(e));
    const t = translate(e, scope);
    if (t) sse.send(t.event, t.data);
  }
  if (FINAL_STATES.has(detail.task.state)) {
    const f = finalEvent(detail.task, scope);
    sse.send(f.event, f.data);
    return sse.close();
  }
  live = true;
  for (const e of buffered.splice(0)) if (!seen.has(eventKey(e))) busy = busy.then(() => onLive(e));
  await busy;
}

export function taskEventRoutes(deps: WebDeps): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/tasks/:id/events',
      tag: 'tasks',
      auth: 'user',
      summary: 'Follow one task (Server-Sent Events)',
      description:
        'Events: state (the task now), then its recorded and live events: queued, active, stage ' +
        '{stage, durationMs, ok}, transcript {text, language}, sentence {index, text}, retract ' +
        '{sentences} (the sentences shown so far were the model thinking: remove them), audio {index, ' +
        "durationSec, url} (a spoken sentence's clip, as soon as it is synthesised, for playing the reply " +
        'while it is written; web messages only), progress, retrying ' +
        '{error, delayMs}, lost, redriven; it ends with completed {result, audioUrl}, dead {error} or ' +
        'cancelled. Comments (": ping") are heartbeats.',
      params: TaskIdParams,
      responses: {
        200: { description: 'An event stream', contentType: 'text/event-stream' },
        404: { description: 'not_found' },
      },
      async handler({ params, caller, reply }) {
        const detail = await deps.queue.get(params.id).catch(() => undefined);
        if (!detail || !canSee(caller, detail.task)) throw new ApiError('not_found', `No task ${params.id}.`);
        const sse = deps.sse.start(reply);
        await followTask(deps, sse, params.id, caller.scope).catch((err: unknown) => {
          deps.logger.warn({ err: String(err), taskId: params.id }, 'task event stream failed');
          sse.close();
        });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/tasks/events',
      tag: 'tasks',
      auth: 'user',
      summary: 'Follow every task you may see (Server-Sent Events)',
      description:
        'Events: snapshot {tasks} (the latest 50), then task {event, task} for every change. A user ' +
        'token sees its own tasks; admin sees all.',
      query: TaskStreamQuery,
      responses: { 200: { description: 'An event stream', contentType: 'text/event-stream' } },
      async handler({ query, caller, reply }) {
        const sse = deps.sse.start(reply);
        // one lookup at a time keeps events in order; a burst of progress costs one read each
        let chain = Promise.resolve();
        const sub = await deps.queue.subscribe(
          (e) => {
            chain = chain
              .then(async () => {
                if (sse.closed) return;
                const task = (await deps.queue.get(e.taskId))?.task;
                if (task && canSee(caller, task))
                  sse.send('task', {
                    event: eventView(e, caller.scope),
                    task: taskView(task, caller.scope),
                  });
              })
              .catch(() => undefined);
          },
          query.capability ? { capability: query.capability } : {},
        );
        sse.onClose(() => void sub.close());
        // the snapshot goes first in the same chain; changes after it patch what it showed
        chain = chain.then(async () => {
          const recent = await deps.queue.list({
            ...(query.capability ? { capability: query.capability } : {}),
            limit: caller.scope === 'admin' ? 50 : 500,
          });
          sse.send('snapshot', {
            tasks: recent
              .filter((t) => canSee(caller, t))
              .slice(0, 50)
              .map((t) => taskView(t, caller.scope)),
          });
        });
        await chain;
      },
    }),
  ];
}
