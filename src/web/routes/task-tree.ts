/**
 * GET /v1/tasks/:id/tree: a plan's task tree (plan → subtasks → the steps their workers report), for the
 * web tasks view and API clients. Visible to whoever may see the root task (GET /v1/tasks/:id's rule);
 * 404 for a task that is not a plan root.
 */
import { PLAN_RUN_KIND, type PlanTree } from '../../planner/contract.js';
import type { TaskQueue } from '../../tasks/types.js';
import { defineRoute, type AnyRoute } from '../api-route.js';
import type { WebDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { TaskIdParams } from '../schemas.js';
import { canSee } from '../task-view.js';
import { PlanTreeView } from '../tree-schemas.js';

/** Builds the tree of a plan root (the planner's planTree). */
export type PlanTreeOf = (queue: TaskQueue, rootId: string) => Promise<PlanTree | undefined>;

export function taskTreeRoutes(deps: WebDeps, planTree: PlanTreeOf): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/tasks/:id/tree',
      tag: 'tasks',
      auth: 'user',
      summary: "A plan's task tree: subtasks with states, capabilities, needs and their workers' steps",
      params: TaskIdParams,
      responses: {
        200: { description: 'The tree', schema: PlanTreeView },
        404: { description: 'not_found (also for tasks of other users, and tasks that are not plans)' },
      },
      async handler({ params, caller }) {
        const detail = await deps.queue.get(params.id).catch(() => undefined);
        if (!detail || !canSee(caller, detail.task)) throw new ApiError('not_found', `No task ${params.id}.`);
        if (detail.task.kind !== PLAN_RUN_KIND)
          throw new ApiError('not_found', `Task ${params.id} is not a plan.`);
        const tree = await planTree(deps.queue, params.id);
        if (!tree) throw new ApiError('not_found', `No task ${params.id}.`);
        return tree;
      },
    }),
  ];
}
