/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked field by field */
/**
 * Eval runs over the HTTP API against a real June (web-harness.ts) with an in-process worker serving
 * `eval` (the real checker sandbox): start a run → follow its progress (SSE) → its summary, samples and
 * HTML report; cancel a run; admin scope only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetsDir } from '../../src/eval/dataset-cache.js';
import { DATASETS, loadDataset } from '../../src/eval/datasets.js';
import { createEvalHandlers, type EvalHandlers } from '../../src/eval/queue-handlers.js';
import { DATA_FILES, hasSharedData } from '../../src/eval/test-data.js';
import { createLogger } from '../../src/observability/logger.js';
import { HandlerRegistry } from '../../src/tasks/handlers.js';
import { startWorkers, type WorkerPool } from '../../src/tasks/runtime.js';
import { eventually } from '../../src/tasks/testing/eventually.js';
import { streamOf } from '../helpers/fake-openai-scenarios.js';
import { bearer, jsonHeaders } from './web-client.js';
import { readSse, startJune, type RunningJune } from './web-harness.js';

const USER = 'user-token-for-eval-checks';
const ADMIN = 'admin-token-for-eval-checks';

let june: RunningJune;
let pool: WorkerPool;
let evals: EvalHandlers;

beforeAll(async () => {
  if (!hasSharedData) return;
  june = await startJune({ apiTokens: [USER, `admin:${ADMIN}`], offline: true });
  // the dataset as if downloaded once into the cache
  const cached = path.join(datasetsDir(june.config), DATASETS.humaneval.file);
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  fs.copyFileSync(DATA_FILES.humaneval, cached);
  const registry = new HandlerRegistry();
  evals = (await createEvalHandlers({ config: june.config, logger: createLogger('silent') }))!;
  evals.register(registry);
  pool = await startWorkers({
    queue: june.queue,
    config: june.config,
    registry,
    capabilities: ['eval'],
    concurrency: 1,
    metrics: false,
    logger: createLogger('silent'),
  });
});

afterAll(async () => {
  await pool?.stop();
  await evals?.close();
  await june?.stop();
});

const post = async (url: string, body: unknown, token = ADMIN) => {
  const res = await fetch(`${june.base}${url}`, {
    method: 'POST',
    headers: jsonHeaders(token),
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};
const get = async (url: string, token = ADMIN) => {
  const res = await fetch(`${june.base}${url}`, { headers: bearer(token) });
  return { status: res.status, body: (await res.json()) as any };
};
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe.skipIf(!hasSharedData)('eval runs over HTTP', () => {
  it('starts a run, streams its progress, and serves its summary, samples and report', async () => {
    const dataset = loadDataset('humaneval', DATA_FILES.humaneval);
    const ref = (id: string) => dataset.byId.get(id)!.reference;
    const samples = jsonl([
      { task_id: 'HumanEval/2', solution: ref('HumanEval/2') },
      { task_id: 'HumanEval/3', solution: ref('HumanEval/3') },
      { task_id: 'HumanEval/4', completion: '    return 0.0\n' },
    ]);
    const started = await post('/v1/evals', { dataset: 'humaneval', samples });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({ dataset: 'humaneval', total: 3 });
    const id = started.body.id as string;

    const logs = await readSse(`${june.base}/v1/evals/${id}/logs`, bearer(ADMIN), { timeoutMs: 120_000 });
    const names = logs.events.map((e) => e.event);
    expect(names[0]).toBe('state');
    expect(names.at(-1)).toBe('completed');
    expect(logs.ended).toBe(true);
    const progress = logs.events.filter((e) => e.event === 'progress').map((e) => e.data as any);
    if (progress.length) expect(progress.at(-1)).toMatchObject({ total: 3 });

    const run = await get(`/v1/evals/${id}`);
    expect(run.body).toMatchObject({ state: 'completed', total: 3, done: 3, passed: 2, failed: 1 });
    expect(run.body.summary.passAtK.base['pass@1']).toBeCloseTo(2 / 3, 12);
    expect((await get('/v1/evals')).body.runs.map((r: any) => r.id)).toContain(id);

    const list = await get(`/v1/evals/${id}/samples`);
    expect(list.body.samples.map((s: any) => [s.task_id, s.verdict?.status])).toEqual([
      ['HumanEval/2', 'pass'],
      ['HumanEval/3', 'pass'],
      ['HumanEval/4', 'fail'],
    ]);
    const failing = await get(`/v1/evals/${id}/samples/2`);
    expect(failing.body.prompt).toContain('def mean_absolute_deviation');
    expect(failing.body.program).toContain('return 0.0');
    expect(failing.body.verdict.detail).toMatchObject({ input: 'candidate([1.0, 2.0, 3.0])', actual: '0.0' });
    expect(failing.body.verdict.detail.expected).toBeDefined();

    const report = await fetch(`${june.base}/v1/evals/${id}/report`, { headers: bearer(ADMIN) });
    expect(report.status).toBe(200);
    expect(report.headers.get('content-type')).toContain('text/html');
    expect(report.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await report.text();
    expect(html).toContain('HumanEval/4');
    expect(html).not.toContain('<script');

    // the run directory on the server holds the files of a CLI run
    const files = fs.readdirSync(run.body.runDir as string);
    expect(files).toEqual(
      expect.arrayContaining(['results.jsonl', 'summary.json', 'samples.jsonl', 'run.json']),
    );
  }, 180_000);

  it('cancels a run: the run and the samples not checked yet', async () => {
    const dataset = loadDataset('humaneval', DATA_FILES.humaneval);
    const slow = dataset.problems
      .slice(0, 8)
      .map((p) => ({ task_id: p.taskId, solution: `import time\ntime.sleep(1.5)\n${p.reference}` }));
    const started = await post('/v1/evals', { dataset: 'humaneval', samples: jsonl(slow) });
    expect(started.status).toBe(202);
    const id = started.body.id as string;
    await eventually(
      async () => ((await get(`/v1/evals/${id}`)).body.states.active ?? 0) > 0 || undefined,
      'a sample being checked',
      60_000,
    );
    const cancel = await post(`/v1/evals/${id}/cancel`, {});
    expect(cancel.status).toBe(200);
    expect(cancel.body.cancelled).toBe(true);
    expect(cancel.body.run.state).toBe('cancelled');
    const settled = await eventually(
      async () => {
        const s = (await get(`/v1/evals/${id}`)).body;
        return s.done === s.total ? s : undefined;
      },
      'every sample to end',
      60_000,
    );
    expect(settled.states.cancelled).toBeGreaterThan(0);
    expect(settled.states.completed ?? 0).toBeLessThan(8);
    expect((await post(`/v1/evals/${id}/cancel`, {})).body.cancelled).toBe(false);
  }, 180_000);

  it('runs the configured model (mode completion): each sample is answered once, then checked', async () => {
    const dataset = loadDataset('humaneval', DATA_FILES.humaneval);
    const answer = (code: string) =>
      streamOf(
        (`Here it is.\n\n\`\`\`python\n${code}\n\`\`\`\n`.match(/[\s\S]{1,16}/g) ?? []).map((c) => ({
          content: c,
        })),
        { usage: [90, 30] },
      );
    june.llm.reset();
    june.llm.enqueue(
      answer(dataset.byId.get('HumanEval/2')!.reference),
      answer('def truncate_number(number: float) -> float:\n    return 0.0\n'),
    );
    const started = await post('/v1/evals', {
      dataset: 'humaneval',
      mode: 'completion',
      tasks: ['HumanEval/2'],
      n: 2,
      temperature: 0.4,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({ mode: 'completion', total: 2 });
    const id = started.body.id as string;
    const run = await eventually(
      async () => {
        const s = (await get(`/v1/evals/${id}`)).body;
        return s.state === 'completed' ? s : undefined;
      },
      'the run to complete',
      120_000,
    );
    expect(run).toMatchObject({ total: 2, done: 2, passed: 1, failed: 1 });
    expect(run.summary).toMatchObject({
      mode: 'completion',
      model: 'june-test-model',
      temperature: 0.4,
      n: 2,
    });
    expect(run.summary.efficiency.tokens).toMatchObject({ prompt: 180, completion: 60 });
    // the model was asked once per sample, with the run's temperature and EvalPlus's instruct prompt
    const asked = june.llm.chatRequests().map((r) => r.body!);
    expect(asked).toHaveLength(2);
    expect(asked.map((b) => b.temperature)).toEqual([0.4, 0.4]);
    expect(String(asked[0]!.messages![0]!.content)).toContain('def truncate_number(number: float)');
    // review: the program the model gave and its answer
    const failing = (await get(`/v1/evals/${id}/samples`)).body.samples.findIndex(
      (s: any) => s.verdict?.status !== 'pass',
    );
    const detail = (await get(`/v1/evals/${id}/samples/${failing}`)).body;
    expect(detail.program).toContain('return 0.0');
    expect(detail.answer).toContain('Here it is.');
    expect(fs.readdirSync(run.runDir as string)).toEqual(
      expect.arrayContaining(['results.jsonl', 'summary.json', 'samples.jsonl', 'outputs']),
    );
    // modes completion and agent produce their own samples
    const given = await post('/v1/evals', { dataset: 'humaneval', mode: 'agent', samples: '{}' });
    expect(given.status).toBe(400);
  }, 180_000);

  it('is for admins only, and refuses bad requests with a reason', async () => {
    expect((await get('/v1/evals', USER)).status).toBe(403);
    expect((await post('/v1/evals', { dataset: 'humaneval', samples: '{}' }, USER)).status).toBe(403);
    const outside = await post('/v1/evals', { dataset: 'humaneval', samplesFile: '/etc/passwd' });
    expect(outside.status).toBe(400);
    const both = await post('/v1/evals', { dataset: 'humaneval' });
    expect(both.status).toBe(400);
    const unknown = await post('/v1/evals', {
      dataset: 'humaneval',
      samples: jsonl([{ task_id: 'Nope/1', completion: 'x' }]),
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('Nope/1');
    expect((await get('/v1/evals/eval-missing')).status).toBe(404);
  });
});
