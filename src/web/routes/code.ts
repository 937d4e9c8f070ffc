/**
 * The coding agent over HTTP: POST /v1/code enqueues an `agent.code` task (run by a worker that serves
 * the `code` capability, in its sandbox); GET /v1/code/:id shows the run and, once done, its result;
 * /steps shows each step (the command, its output, the step's diff) read from the run directory as it
 * grows; /diff downloads the changes; /cancel stops the run (the worker's heartbeat sees the request, the
 * handler's signal stops the loop and the sandbox kills the running command). Progress itself stays on the
 * task's event stream (GET /v1/tasks/:id/events: one `progress` event per step).
 *
 * A run started here carries the web user as its reply target (channel "web"), which is whom it belongs to:
 * a user token sees its own runs, admin sees all. The request is kept in the conversation it names at once
 * and the outcome when the run ends, so the chat shows the run after a reload and the model knows it.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { CODE_CAPABILITY, CODE_TASK_KIND, type CodeTaskPayload } from '../../agent/code-contract.js';
import { allowedProject, runDiff } from '../../agent/workspace.js';
import { codeRequestText } from '../../channels/code-history.js';
import { contextFromTraceparent } from '../../observability/trace-context.js';
import { withSpan } from '../../observability/tracing.js';
import { FINAL_STATES, type Task, type TaskDetail } from '../../tasks/types.js';
import { defineRoute, type AnyRoute } from '../api-route.js';
import type { Caller } from '../auth.js';
import {
  CodeAccepted,
  CodeCancelled,
  CodeRequest,
  CodeRunView,
  CodeSteps,
  codeLinks,
  codePayload,
  localRun,
  progressByStep,
  runIdOf,
  stepsFromRun,
} from '../code-view.js';
import type { WebDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { TaskIdParams } from '../schemas.js';
import { canSee, errorView } from '../task-view.js';
import { WEB_CHANNEL } from '../web-adapter.js';

const NO_WORKER =
  'No worker here can run coding tasks right now (none serves the "code" capability). ' +
  'Start one with JUNE_WORKER_CAPABILITIES including code, on a machine with bubblewrap or Docker.';

/** The caller's coding task, or 404 (also for other users' tasks and for tasks of other kinds). */
async function codeTask(deps: WebDeps, caller: Caller, id: string): Promise<TaskDetail> {
  const detail = await deps.queue.get(id).catch(() => undefined);
  if (!detail || detail.task.kind !== CODE_TASK_KIND || !canSee(caller, detail.task))
    throw new ApiError('not_found', `No coding run ${id}.`);
  return detail;
}

function idempotencyKey(caller: Caller, req: FastifyRequest): string | undefined {
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || key.length === 0) return undefined;
  if (key.length > 200)
    throw new ApiError('invalid_request', 'Idempotency-Key is longer than 200 characters', 'Idempotency-Key');
  return `code:web:${createHash('sha256').update(`${caller.userId}\0${key}`).digest('base64url').slice(0, 24)}`;
}

function runView(task: Task, scope: Caller['scope']): z.output<typeof CodeRunView> {
  const p = codePayload(task);
  const progress = task.progress?.data as { step?: unknown; activity?: unknown } | undefined;
  const runId = runIdOf(task);
  return {
    id: task.id,
    state: task.state,
    task: p.task,
    ...(p.project ? { project: p.project } : {}),
    ...(runId ? { runId } : {}),
    ...(typeof progress?.step === 'number' ? { step: progress.step } : {}),
    ...(typeof progress?.activity === 'string' ? { activity: progress.activity } : {}),
    ...(task.cancelRequested ? { cancelRequested: true } : {}),
    ...(task.error ? { error: errorView(task.error, scope) } : {}),
    ...(task.state === 'completed' && task.result ? { result: task.result as never } : {}),
    links: codeLinks(task.id),
  };
}

/** A file name for the download: the run id, else the task id, in safe characters. */
const diffName = (task: Task) => `${(runIdOf(task) ?? task.id).replace(/[^\w.-]/g, '_')}.diff`;

export function codeRoutes(deps: WebDeps): AnyRoute[] {
  const { config, queue } = deps;
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/code',
      tag: 'code',
      auth: 'user',
      summary: 'Start a coding run',
      description:
        'JSON `{task, project?, conversation?}`. The coding agent does the task in a sandbox on a worker ' +
        'that serves the `code` capability. Answers 202 with the task id and links: follow the steps at ' +
        'links.events (one `progress` event per step: stage "step 4: running: npm test", data ' +
        '{step, activity, runId}) or links.steps, and fetch the result at links.self and the changes at ' +
        'links.diff. `project` (admin tokens only) names a directory inside JUNE_AGENT_PROJECTS; the agent ' +
        'works on a copy. An `Idempotency-Key` header makes a retried request name the same run.',
      body: CodeRequest,
      responses: {
        202: { description: 'Accepted: the task that runs the agent', schema: CodeAccepted },
        400: { description: 'invalid_request: an empty task, or a project outside JUNE_AGENT_PROJECTS' },
        403: { description: 'forbidden: `project` needs an admin token' },
        503: { description: 'not_ready: no worker serves the code capability' },
      },
      handler: (args) => {
        const header = args.req.headers.traceparent;
        const parent = typeof header === 'string' ? contextFromTraceparent(header) : undefined;
        const attributes = { 'http.request.method': 'POST', 'http.route': '/v1/code' };
        return withSpan('http.request', attributes, () => post(args), parent);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/code/:id',
      tag: 'code',
      auth: 'user',
      summary: 'A coding run: its state, latest step and, once done, its result',
      params: TaskIdParams,
      responses: {
        200: { description: 'The run', schema: CodeRunView },
        404: { description: 'not_found (also for runs of other users)' },
      },
      async handler({ params, caller }) {
        const { task } = await codeTask(deps, caller, params.id);
        return runView(task, caller.scope);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/code/:id/steps',
      tag: 'code',
      auth: 'user',
      summary: "A coding run's steps: each command with its output, and each step's diff",
      description:
        'Read from the run directory as the run goes (the web server and the worker share the data ' +
        'directory). When the run directory is on another machine, `local` is false and the steps hold ' +
        'only the activity recorded on the task. Outputs and diffs are capped (head and tail kept).',
      params: TaskIdParams,
      responses: {
        200: { description: 'The steps so far', schema: CodeSteps },
        404: { description: 'not_found' },
      },
      async handler({ params, caller }) {
        const { task, timeline } = await codeTask(deps, caller, params.id);
        const runId = runIdOf(task);
        const progress = progressByStep(timeline, runId);
        const run = localRun(config.dataDir, runId);
        const base = { id: task.id, state: task.state, ...(runId ? { runId } : {}) };
        const result = task.result as { status?: unknown; answer?: unknown } | undefined;
        const ended = {
          ...(typeof result?.status === 'string' ? { status: result.status } : {}),
          ...(typeof result?.answer === 'string' ? { answer: result.answer } : {}),
        };
        if (!run) {
          return {
            ...base,
            local: false,
            ...(runId
              ? {
                  note: 'The run directory is not on this server (the run is on another machine): only the activity recorded on the task is shown.',
                }
              : {}),
            steps: [...progress].map(([step, activity]) => ({ step, activity, calls: [] })),
            ...ended,
          };
        }
        const read = await stepsFromRun(run, progress);
        return {
          ...base,
          local: true,
          steps: read.steps,
          ...ended,
          ...(read.status !== undefined ? { status: read.status } : {}),
          ...(read.answer !== undefined ? { answer: read.answer } : {}),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/code/:id/diff',
      tag: 'code',
      auth: 'user',
      summary: "Download a coding run's changes (a unified diff)",
      description:
        'The diff of everything the run changed, as an attachment. Once the run is done it comes from the ' +
        'result; while it runs, from the run directory (when it is on this server). Empty when nothing ' +
        'changed. `git apply` applies it; for a project run, `june code apply RUN` does.',
      params: TaskIdParams,
      responses: {
        200: { description: 'The diff', contentType: 'text/x-diff' },
        404: { description: 'not_found: no such run, or its changes are not on this server yet' },
      },
      async handler({ params, caller, reply }) {
        const { task } = await codeTask(deps, caller, params.id);
        const result = task.result as { diff?: unknown } | undefined;
        let diff = typeof result?.diff === 'string' ? result.diff : undefined;
        if (diff === undefined) {
          const run = localRun(config.dataDir, runIdOf(task));
          if (run) diff = await runDiff(run);
        }
        if (diff === undefined)
          throw new ApiError(
            'not_found',
            FINAL_STATES.has(task.state)
              ? `Coding run ${task.id} ended without changes to download (${task.state}).`
              : `Coding run ${task.id} has no changes on this server yet; try again when it is done.`,
          );
        return reply
          .status(200)
          .header('content-type', 'text/x-diff; charset=utf-8')
          .header('content-disposition', `attachment; filename="${diffName(task)}"`)
          .header('cache-control', 'no-store')
          .send(diff);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/code/:id/cancel',
      tag: 'code',
      auth: 'user',
      summary: 'Cancel a coding run',
      description:
        'A queued run is cancelled at once; a running one stops at its next heartbeat: the agent stops ' +
        'and the sandbox kills the command it is running. The task then ends `cancelled`.',
      params: TaskIdParams,
      responses: {
        202: { description: 'Cancellation asked for (or done)', schema: CodeCancelled },
        404: { description: 'not_found' },
        409: { description: 'conflict: the run has already ended' },
      },
      async handler({ params, caller, reply }) {
        const { task } = await codeTask(deps, caller, params.id);
        if (FINAL_STATES.has(task.state))
          throw new ApiError('conflict', `Coding run ${task.id} has already ended (${task.state}).`);
        await queue.cancel(task.id);
        const now = (await queue.get(task.id))?.task ?? task;
        return reply.status(202).send({
          id: now.id,
          state: now.state,
          cancelRequested: now.state === 'cancelled' || Boolean(now.cancelRequested),
        });
      },
    }),
  ];

  async function post({
    body,
    caller,
    req,
    reply,
  }: {
    body: z.output<typeof CodeRequest>;
    caller: Caller;
    req: FastifyRequest;
    reply: FastifyReply;
  }) {
    let project: string | undefined;
    if (body.project !== undefined) {
      if (caller.scope !== 'admin')
        throw new ApiError('forbidden', 'Only an admin token may name a project directory.');
      try {
        project = allowedProject(body.project, config.agentProjects);
      } catch (err) {
        throw new ApiError('invalid_request', `body.project: ${(err as Error).message}`, 'body.project');
      }
    }
    const workers = await queue.listWorkers();
    if (!workers.some((w) => w.capabilities.includes(CODE_CAPABILITY)))
      throw new ApiError('not_ready', NO_WORKER);
    const payload: CodeTaskPayload = {
      task: body.task,
      ...(project ? { project } : {}),
      reply: { channel: WEB_CHANNEL, chatId: body.conversation ?? 'default', userId: caller.userId },
    };
    const key = idempotencyKey(caller, req);
    const taskId = await queue.enqueue({
      kind: CODE_TASK_KIND,
      capability: CODE_CAPABILITY,
      payload,
      ...(key ? { idempotencyKey: key } : {}),
    });
    // the request shows in its conversation at once (after a reload too); the outcome joins it at the end
    deps.runtime.conversations.appendMessages(payload.reply!, taskId, [
      { role: 'user', content: codeRequestText(body.task) },
    ]);
    deps.logger.info({ taskId }, 'coding task accepted');
    return reply.status(202).send({ taskId, links: codeLinks(taskId) });
  }
}
