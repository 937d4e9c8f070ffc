/** Admin routes: workers and what they run, queue counts per capability, dead letters and redrive. */
import { defineRoute, type AnyRoute } from '../api-route.js';
import type { WebDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { DeadLetterQuery, QueueStats, RedriveBody, RedriveResult, TaskList, WorkerList } from '../schemas.js';
import { taskView } from '../task-view.js';

export function adminRoutes(deps: WebDeps): AnyRoute[] {
  const { queue } = deps;
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/admin/workers',
      tag: 'admin',
      auth: 'admin',
      summary: 'Workers and the tasks they are running',
      responses: { 200: { description: 'The workers', schema: WorkerList } },
      async handler() {
        const workers = await queue.listWorkers();
        return {
          workers: await Promise.all(
            workers.map(async (w) => ({
              id: w.id,
              capabilities: w.capabilities,
              concurrency: w.concurrency,
              load: w.load,
              host: w.host,
              pid: w.pid,
              startedAt: w.startedAt,
              lastHeartbeatAt: w.lastHeartbeatAt,
              ...(w.circuits?.length ? { circuits: w.circuits } : {}),
              tasks: await Promise.all(
                w.activeTaskIds.map(async (id) => {
                  const t = (await queue.get(id).catch(() => undefined))?.task;
                  return {
                    id,
                    ...(t ? { kind: t.kind } : {}),
                    ...(t?.progress ? { stage: t.progress.stage } : {}),
                  };
                }),
              ),
            })),
          ),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/admin/queue',
      tag: 'admin',
      auth: 'admin',
      summary: 'Task counts per capability',
      responses: { 200: { description: 'Counts', schema: QueueStats } },
      async handler() {
        return { backend: queue.backend, capabilities: await queue.stats() };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/admin/dead-letters',
      tag: 'admin',
      auth: 'admin',
      summary: 'Dead tasks, most recent first',
      query: DeadLetterQuery,
      responses: { 200: { description: 'Dead tasks', schema: TaskList } },
      async handler({ query }) {
        const dead = await queue.listDead({
          limit: query.limit,
          ...(query.capability ? { capability: query.capability } : {}),
        });
        return { tasks: dead.map((t) => taskView(t, 'admin')) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/admin/dead-letters/redrive',
      tag: 'admin',
      auth: 'admin',
      summary: 'Run dead tasks again with fresh attempts',
      description: '`{"id": "<task id>"}` for one task, `{"all": true, "capability"?: "voice"}` for many.',
      body: RedriveBody,
      responses: {
        200: { description: 'How many were put back', schema: RedriveResult },
        400: { description: 'invalid_request' },
        404: { description: 'not_found: no dead task with that id' },
      },
      async handler({ body }) {
        const redriven = await queue.redrive(
          'id' in body
            ? { id: body.id }
            : { all: true, ...(body.capability ? { capability: body.capability } : {}) },
        );
        if ('id' in body && redriven === 0) throw new ApiError('not_found', `No dead task ${body.id}.`);
        return { redriven };
      },
    }),
  ];
}
