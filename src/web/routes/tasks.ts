/** GET /v1/tasks and GET /v1/tasks/:id: tasks with their state, progress, result or error. */
import { defineRoute, type AnyRoute } from '../api-route.js';
import type { WebDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { TaskDetailView, TaskIdParams, TaskList, TaskListQuery } from '../schemas.js';
import { canSee, taskDetailView, taskView } from '../task-view.js';

/** How far back a user token's own tasks are looked for among everyone's (the queue has no owner index). */
const USER_SCAN = 500;

export function taskRoutes(deps: WebDeps): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/tasks',
      tag: 'tasks',
      auth: 'user',
      summary: 'List tasks, newest first',
      description: `A user token sees the tasks of its own messages (among the latest ${USER_SCAN}); admin sees all.`,
      query: TaskListQuery,
      responses: {
        200: { description: 'The tasks', schema: TaskList },
        400: { description: 'invalid_request' },
      },
      async handler({ query, caller }) {
        const admin = caller.scope === 'admin';
        const tasks = await deps.queue.list({
          ...(query.state ? { state: query.state } : {}),
          ...(query.capability ? { capability: query.capability } : {}),
          limit: admin ? query.limit : USER_SCAN,
        });
        return {
          tasks: tasks
            .filter((t) => canSee(caller, t))
            .slice(0, query.limit)
            .map((t) => taskView(t, caller.scope)),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/tasks/:id',
      tag: 'tasks',
      auth: 'user',
      summary: 'One task with its attempts and timeline',
      params: TaskIdParams,
      responses: {
        200: { description: 'The task', schema: TaskDetailView },
        404: { description: 'not_found (also for tasks of other users)' },
      },
      async handler({ params, caller }) {
        const detail = await deps.queue.get(params.id).catch(() => undefined);
        if (!detail || !canSee(caller, detail.task)) throw new ApiError('not_found', `No task ${params.id}.`);
        return taskDetailView(detail, caller.scope);
      },
    }),
  ];
}
