/**
 * Eval runs over HTTP (admin scope): start a run on the task queue (an `eval.run` parent with one
 * `eval.sample` child per sample, produced by the configured model or agent in modes completion and agent,
 * and checked by the workers serving `eval`), follow it (status and
 * live progress, or Server-Sent Events), cancel it (the parent and every sample not yet checked), review
 * each sample, and read its HTML report.
 *
 * GET /v1/evals/:id/logs events: `state` (the run now), `sample` {index, task_id, sample, state, status,
 * plus_status} as each sample ends, `progress` {done, total, passed} after it, and at the end `completed`
 * {summary}, `cancelled` or `dead` {error}, after which the stream ends.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EvalError } from '../../eval/errors.js';
import {
  childVerdict,
  configuredModelName,
  EVAL_CAPABILITY,
  submitEvalRun,
  type EvalRunPayload,
} from '../../eval/queue-run.js';
import { renderReport } from '../../eval/report.js';
import {
  evalsDir,
  isFinal,
  listRunRecords,
  reportData,
  runSamples,
  runStatus,
  sampleDetail,
} from '../../eval/run-index.js';
import { defaultRunDir } from '../../eval/run.js';
import type { DatasetId } from '../../eval/datasets.js';
import type { EvalRunStatus } from '../../eval/queue-run.js';
import { childTaskId } from '../../tasks/ids.js';
import { defineRoute, type AnyRoute } from '../api-route.js';
import type { WebDeps } from '../deps.js';
import {
  EvalCancelResult,
  EvalIdParams,
  EvalListQuery,
  EvalRunList,
  EvalRunView,
  EvalSampleDetail,
  EvalSampleList,
  EvalSampleParams,
  EvalStartBody,
} from '../eval-schemas.js';
import { ApiError } from '../errors.js';

/** The report has inline CSS and SVG only: no script may run, nothing is loaded. */
const REPORT_CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** Where samples files on the server may be named from (POST /v1/evals {samplesFile}). */
export function evalSamplesDir(config: { dataDir: string }): string {
  return path.join(evalsDir(config), 'samples');
}

function view(s: EvalRunStatus) {
  const self = `/v1/evals/${encodeURIComponent(s.id)}`;
  return {
    ...s,
    links: { self, logs: `${self}/logs`, report: `${self}/report`, samples: `${self}/samples` },
  };
}

/** A samples file named in a request: inside the allowed folder, symlinks resolved. */
function allowedSamplesFile(root: string, name: string): string {
  const outside = () =>
    new ApiError('invalid_request', `samplesFile must name a file inside ${root}.`, 'body.samplesFile');
  let real: string;
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
    real = fs.realpathSync(path.resolve(root, name));
  } catch {
    throw new ApiError('invalid_request', `No samples file ${name} in ${root}.`, 'body.samplesFile');
  }
  if (!real.startsWith(realRoot + path.sep) || !fs.statSync(real).isFile()) throw outside();
  return real;
}

function apiError(err: unknown): never {
  if (err instanceof EvalError) {
    if (err.code === 'eval_dataset_offline') throw new ApiError('not_ready', err.userMessage);
    if (err.code !== 'eval_sandbox') throw new ApiError('invalid_request', err.userMessage);
  }
  throw err;
}

export function evalRoutes(deps: WebDeps): AnyRoute[] {
  const { queue, config } = deps;
  const status = async (id: string) => {
    const s = await runStatus(config, queue, id);
    if (!s) throw new ApiError('not_found', `No eval run ${id}.`);
    return s;
  };

  return [
    defineRoute({
      method: 'POST',
      url: '/v1/evals',
      tag: 'evals',
      auth: 'admin',
      summary: 'Start an eval run: given samples, the configured model, or the coding agent',
      description:
        'Mode samples: the samples come in the body (`samples`: JSON lines) or from a file on the server ' +
        '(`samplesFile`, inside <JUNE_DATA_DIR>/evals/samples). Modes completion and agent: the configured ' +
        'language model (JUNE_LLM*) answers each problem `n` times at `temperature`, or the coding agent ' +
        'solves it. Each sample becomes a task of capability `eval`; workers serving eval (`june start` or ' +
        '`june worker` with JUNE_WORKER_CAPABILITIES including eval) produce and check them.',
      body: EvalStartBody,
      responses: {
        202: { description: 'The run, started', schema: EvalRunView },
        400: { description: 'invalid_request: bad samples, unknown dataset or task ids' },
        503: { description: 'not_ready: the dataset is not cached and downloads are off' },
      },
      async handler({ body, reply }) {
        const mode = body.mode ?? 'samples';
        const dataset = body.dataset as DatasetId;
        const runDir = `${defaultRunDir(config, dataset)}-${randomBytes(3).toString('hex')}`;
        const common = {
          dataset,
          outDir: runDir,
          concurrency: config.workerConcurrency,
          ...(body.limit !== undefined ? { limit: body.limit } : {}),
          ...(body.tasks ? { tasks: body.tasks } : {}),
          ...(body.timeoutS !== undefined ? { timeoutS: body.timeoutS } : {}),
        };
        let submitting: Promise<{ id: string; total: number }>;
        if (mode === 'samples') {
          if (body.n !== undefined || body.temperature !== undefined)
            throw new ApiError(
              'invalid_request',
              'n and temperature are for modes completion and agent.',
              'body.n',
            );
          if ((body.samples === undefined) === (body.samplesFile === undefined))
            throw new ApiError(
              'invalid_request',
              'Give the samples either as `samples` (JSON lines) or as `samplesFile`.',
              'body.samples',
            );
          let samplesFile: string;
          if (body.samples !== undefined) {
            fs.mkdirSync(runDir, { recursive: true });
            samplesFile = path.join(runDir, 'input.jsonl');
            fs.writeFileSync(samplesFile, body.samples.endsWith('\n') ? body.samples : body.samples + '\n');
          } else samplesFile = allowedSamplesFile(evalSamplesDir(config), body.samplesFile!);
          submitting = submitEvalRun(config, queue, { ...common, samplesFile });
        } else {
          if (body.samples !== undefined || body.samplesFile !== undefined)
            throw new ApiError(
              'invalid_request',
              `mode ${mode} produces its own samples; give no samples or samplesFile.`,
              'body.samples',
            );
          // the model settings are the server's configuration (JUNE_LLM*); the workers serving eval use theirs
          const model = configuredModelName(config);
          submitting = submitEvalRun(config, queue, {
            ...common,
            mode,
            ...(body.n !== undefined ? { n: body.n } : {}),
            temperature: body.temperature ?? config.llmTemperature,
            ...(model !== undefined ? { model } : {}),
          });
        }
        const run = await submitting.catch((err: unknown) => {
          fs.rmSync(runDir, { recursive: true, force: true });
          return apiError(err);
        });
        deps.logger.info({ run: run.id, dataset, samples: run.total }, 'eval run started');
        const v = view(await status(run.id));
        reply.status(202).header('location', v.links.self);
        return v;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/evals',
      tag: 'evals',
      auth: 'admin',
      summary: 'Eval runs, newest first, with their progress',
      query: EvalListQuery,
      responses: { 200: { description: 'The runs', schema: EvalRunList } },
      async handler({ query }) {
        const runs = await Promise.all(
          listRunRecords(config, query.limit).map((r) => runStatus(config, queue, r.id)),
        );
        return { runs: runs.filter((r) => r !== undefined).map(view) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/evals/:id',
      tag: 'evals',
      auth: 'admin',
      summary: 'One eval run: its state, live progress, and the summary once it completed',
      params: EvalIdParams,
      responses: {
        200: { description: 'The run', schema: EvalRunView },
        404: { description: 'not_found' },
      },
      async handler({ params }) {
        return view(await status(params.id));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/evals/:id/samples',
      tag: 'evals',
      auth: 'admin',
      summary: "A run's samples in samples-file order, with their verdicts once checked",
      params: EvalIdParams,
      responses: {
        200: { description: 'The samples', schema: EvalSampleList },
        404: { description: 'not_found' },
      },
      async handler({ params }) {
        const samples = await runSamples(config, queue, params.id);
        if (!samples) throw new ApiError('not_found', `No eval run ${params.id}.`);
        return { samples };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/evals/:id/samples/:index',
      tag: 'evals',
      auth: 'admin',
      summary: 'One sample for review: the prompt, the program, the verdict, the answer or trajectory',
      params: EvalSampleParams,
      responses: {
        200: { description: 'The sample', schema: EvalSampleDetail },
        404: { description: 'not_found' },
      },
      async handler({ params }) {
        const detail = await sampleDetail(config, queue, params.id, params.index);
        if (!detail) throw new ApiError('not_found', `No sample ${params.index} in eval run ${params.id}.`);
        return detail;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/evals/:id/cancel',
      tag: 'evals',
      auth: 'admin',
      summary: 'Cancel a run: the run and every sample not checked yet',
      params: EvalIdParams,
      responses: {
        200: { description: 'Whether it was cancelled, and the run now', schema: EvalCancelResult },
        404: { description: 'not_found' },
      },
      async handler({ params }) {
        const before = await status(params.id);
        const cancelled = isFinal(before.state) ? false : await queue.cancel(params.id);
        return { cancelled, run: view(await status(params.id)) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/evals/:id/report',
      tag: 'evals',
      auth: 'admin',
      summary: "The run's HTML report (so far, while it runs)",
      description:
        'One self-contained page: inline CSS and SVG, no scripts (served with a CSP that forbids them).',
      params: EvalIdParams,
      responses: {
        200: { description: 'The report', contentType: 'text/html' },
        404: { description: 'not_found' },
      },
      async handler({ params, reply }) {
        const data = await reportData(config, queue, params.id);
        if (!data) throw new ApiError('not_found', `No eval run ${params.id}.`);
        return reply
          .header('content-type', 'text/html; charset=utf-8')
          .header('content-security-policy', REPORT_CSP)
          .header('cache-control', 'no-cache')
          .send(renderReport(data.summary, data.verdicts));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/evals/:id/logs',
      tag: 'evals',
      auth: 'admin',
      summary: 'Live progress of a run as Server-Sent Events',
      description:
        'Events: `state` (the run now), `sample` as each sample ends, `progress` {done, total, passed}, ' +
        'then `completed` {summary}, `cancelled` or `dead` {error}; the stream then ends.',
      params: EvalIdParams,
      responses: {
        200: { description: 'The event stream', contentType: 'text/event-stream' },
        404: { description: 'not_found' },
      },
      async handler({ params, reply }) {
        const id = params.id;
        await status(id); // 404 before the stream starts
        const stream = deps.sse.start(reply);
        const prefix = childTaskId(id, EVAL_CAPABILITY, 0).slice(0, -1);
        const payload = (await queue.get(id).catch(() => undefined))?.task.payload as
          EvalRunPayload | undefined;
        const seen = new Set<string>();
        let ended = false;
        const finish = async () => {
          if (ended) return;
          const s = await status(id).catch(() => undefined);
          if (!s || !isFinal(s.state)) return;
          ended = true;
          if (s.state === 'completed') stream.send('completed', { summary: s.summary });
          else if (s.state === 'cancelled') stream.send('cancelled', { at: Date.now() });
          else stream.send('dead', { error: s.error });
          stream.close();
        };
        // subscribe first, so nothing falls between the snapshot and the live feed
        let chain = Promise.resolve();
        const sub = await queue.subscribe(
          (e) => {
            if (e.type !== 'completed' && e.type !== 'dead' && e.type !== 'cancelled') return;
            chain = chain.then(async () => {
              if (e.taskId === id) return finish();
              if (!e.taskId.startsWith(prefix) || seen.has(e.taskId) || !payload) return;
              seen.add(e.taskId);
              const index = Number(e.taskId.slice(prefix.length));
              const meta = payload.samples[index];
              const child = (await queue.children(id)).find((c) => c.id === e.taskId);
              if (!meta || !child) return;
              const v = childVerdict(child, meta[0], meta[1]);
              stream.send('sample', {
                index,
                task_id: meta[0],
                sample: meta[1],
                state: child.state,
                ...(v ? { status: v.status, ...(v.plus_status ? { plus_status: v.plus_status } : {}) } : {}),
              });
              const now = await status(id);
              stream.send('progress', { done: now.done, total: now.total, passed: now.passed });
            });
          },
          { capability: EVAL_CAPABILITY },
        );
        stream.onClose(() => void sub.close());
        stream.send('state', view(await status(id)));
        await finish();
      },
    }),
  ];
}
