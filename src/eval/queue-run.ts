/**
 * Durable eval runs on the task queue. A run is one parent task `eval.run` whose children are the samples
 * (`eval.sample`, one per problem × sample, capability `eval`), in every mode: given samples, the plain
 * model (`completion`) and the coding agent (`agent`); in the model modes each child asks the model (or
 * runs the agent) and records what it produced once, then checks it. The parent's id comes from an idempotency
 * key (the run directory and a digest of the inputs) and the children are named after it, so submitting
 * the same run again after a `kill -9` names the same tasks: finished samples keep their recorded verdicts
 * and only the rest run. Every worker serving `eval` (this process, `june worker` on other machines over
 * BullMQ) checks samples; each verdict is the child's result in the task record, and the parent, once every
 * child is final, writes results.jsonl (samples-file order) and summary.json from those records. Whoever
 * waits for the run writes the same files again when they are missing on its machine (the run directory
 * need not be shared).
 *
 * The run directory holds run.json (what was submitted: `june eval resume RUN` re-submits it) and
 * samples.jsonl (the programs: written by the submitter for given samples, by the parent in the model
 * modes, whose programs exist only once the children produced them).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JuneConfig } from '../config/schema.js';
import { FINAL_STATES, type ChildSummary, type Task, type TaskQueue } from '../tasks/types.js';
import type { Verdict } from './checker.js';
import { datasetFile, type DatasetFileOptions } from './dataset-cache.js';
import { DATASETS, loadDataset, type DatasetId } from './datasets.js';
import { EvalError } from './errors.js';
import { defaultRunDir, selectProblems } from './run.js';
import type { SampleVerdict } from './types.js';
import { readSamples, type Sample } from './samples.js';
import { summarize, type EvalSummary } from './summary.js';
import type { LimitClock } from './sandbox-worker.js';
import type { EvalMode } from './types.js';

export const EVAL_CAPABILITY = 'eval';
export const EVAL_RUN_KIND = 'eval.run';
export const EVAL_SAMPLE_KIND = 'eval.sample';

/** What `run.json` records and the parent task carries. */
export interface EvalRunSpec {
  dataset: DatasetId;
  mode: EvalMode;
  /** Absolute run directory (on the submitter's machine). */
  runDir: string;
  /** Given samples (mode samples). */
  samplesFile?: string;
  /** Model modes: samples per problem, the sampling temperature, the model the submitter configured. */
  n?: number;
  temperature?: number;
  model?: string;
  problemsFile?: string;
  tasks?: string[];
  limit?: number;
  timeoutS?: number;
  clock?: LimitClock;
  /** Samples checked at once by this process's workers (recorded in the summary). */
  concurrency: number;
  startedAt: string;
}

export interface EvalRunPayload extends EvalRunSpec {
  /** [task id, sample index] per child, in samples-file order (the child index). */
  samples: [string, number][];
}

export interface EvalSamplePayload {
  runDir: string;
  dataset: DatasetId;
  problemsFile?: string;
  taskId: string;
  sample: number;
  /** Position in the samples file. */
  order: number;
  /** Absent (older records) means samples. */
  mode?: EvalMode;
  /** The given program (mode samples). */
  program?: string;
  /** Model modes: the sampling temperature and the model the run expects (checked against the worker's). */
  temperature?: number;
  model?: string;
  timeoutS?: number;
  clock?: LimitClock;
}

export interface EvalSampleResult {
  verdict: Verdict | SampleVerdict;
  groundTruthCpuSeconds: number;
  /** Model modes: the program produced and checked (absent when nothing was produced). */
  program?: string;
  /** Model modes: the model that answered. */
  model?: string;
}

export interface EvalRunResult {
  runDir: string;
  summary: EvalSummary;
}

export interface SubmitOptions {
  dataset: DatasetId;
  /** Default samples. */
  mode?: EvalMode;
  /** Required in mode samples; not allowed in the model modes. */
  samplesFile?: string;
  /** Model modes: samples per problem (default 1) and the temperature (the caller's default). */
  n?: number;
  temperature?: number;
  /** Model modes: the configured model's name (configuredModelName), recorded and checked by workers. */
  model?: string;
  problemsFile?: string;
  outDir?: string;
  tasks?: string[];
  limit?: number;
  timeoutS?: number;
  clock?: LimitClock;
  concurrency?: number;
  download?: DatasetFileOptions;
}

export interface SubmittedRun {
  id: string;
  runDir: string;
  total: number;
}

/** The samples a run checks: the file, narrowed to `tasks` or the dataset's first `limit` tasks. */
function selectSamples(spec: SubmitOptions, samples: Sample[], taskIds: string[]): Sample[] {
  if (spec.tasks?.length) {
    const known = new Set(taskIds);
    const unknown = spec.tasks.filter((t) => !known.has(t));
    if (unknown.length)
      throw new EvalError('eval_bad_input', `Unknown task ids for ${spec.dataset}: ${unknown.join(', ')}.`);
    const wanted = new Set(spec.tasks);
    return samples.filter((s) => wanted.has(s.taskId));
  }
  if (spec.limit !== undefined) {
    const first = new Set(taskIds.slice(0, spec.limit));
    return samples.filter((s) => first.has(s.taskId));
  }
  return samples;
}

/** The configured language model's name as the workers will report it; undefined for the embedded one. */
export function configuredModelName(
  config: Pick<JuneConfig, 'llm' | 'llmBaseUrl' | 'llmModel'>,
): string | undefined {
  const openai = config.llm === 'openai' || (config.llm === 'auto' && !!config.llmBaseUrl);
  return openai ? config.llmModel : undefined;
}

/** One unit of a run: a given sample, or a problem × sample index the model or agent will produce. */
interface Unit {
  taskId: string;
  sample: number;
  program?: string;
}

function selectUnits(
  options: SubmitOptions,
  dataset: ReturnType<typeof loadDataset>,
): { units: Unit[]; digest: (h: ReturnType<typeof createHash>) => void } {
  const mode = options.mode ?? 'samples';
  if (mode === 'samples') {
    if (!options.samplesFile)
      throw new EvalError('eval_bad_input', 'mode samples needs a samples file (--samples FILE).');
    if (options.n !== undefined || options.temperature !== undefined)
      throw new EvalError('eval_bad_input', '--n and --temperature are for --mode completion and agent.');
    const samples = selectSamples(
      options,
      readSamples(options.samplesFile, dataset),
      dataset.problems.map((p) => p.taskId),
    );
    if (samples.length === 0)
      throw new EvalError('eval_bad_input', `No samples to check in ${options.samplesFile}.`);
    return {
      units: samples,
      digest: (h) => {
        for (const s of samples) h.update(`\0${s.taskId}\0${s.program}`);
      },
    };
  }
  if (options.samplesFile)
    throw new EvalError(
      'eval_bad_input',
      `--samples is for --mode samples; --mode ${mode} produces its own.`,
    );
  const n = options.n ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new EvalError('eval_bad_input', '--n must be a whole number ≥ 1.');
  const problems = selectProblems(dataset, options.tasks, options.limit);
  if (problems.length === 0) throw new EvalError('eval_bad_input', 'No problems to evaluate.');
  return {
    units: problems.flatMap((p) => Array.from({ length: n }, (_, sample) => ({ taskId: p.taskId, sample }))),
    digest: (h) => {
      h.update(JSON.stringify([mode, n, options.temperature ?? null, options.model ?? null]));
      for (const p of problems) h.update(`\0${p.taskId}\0${p.prompt}`);
    },
  };
}

/**
 * Enqueues the run (or finds it, when the same run was submitted before): the parent and one child per
 * sample (given, or problem × sample index in the model modes). Writes run.json, and samples.jsonl for
 * given samples, into the run directory.
 */
export async function submitEvalRun(
  config: Pick<JuneConfig, 'dataDir' | 'modelsDir' | 'offline'>,
  queue: TaskQueue,
  options: SubmitOptions,
): Promise<SubmittedRun> {
  const startedAt = new Date();
  const mode = options.mode ?? 'samples';
  if (mode !== 'samples' && options.temperature === undefined)
    throw new EvalError('eval_bad_input', `mode ${mode} needs a temperature.`);
  const problemsFile = options.problemsFile ?? (await datasetFile(config, options.dataset, options.download));
  const dataset = loadDataset(options.dataset, problemsFile);
  const { units, digest: digestUnits } = selectUnits(options, dataset);
  const runDir = path.resolve(options.outDir ?? defaultRunDir(config, options.dataset, startedAt));
  fs.mkdirSync(runDir, { recursive: true });

  // an earlier submission of this run keeps its start time and settings
  const previous = readRunSpec(runDir);
  const digest = createHash('sha256');
  digest.update(
    JSON.stringify([
      options.dataset,
      options.tasks ?? null,
      options.limit ?? null,
      options.timeoutS ?? null,
      options.clock ?? null,
    ]),
  );
  digestUnits(digest);
  const inputs = digest.digest('hex');
  const same = previous?.inputs === inputs ? previous : undefined;
  const model = mode === 'samples' ? {} : modelSettings(options);
  const spec: EvalRunSpec & { inputs: string } = {
    dataset: options.dataset,
    mode,
    runDir,
    ...(options.samplesFile ? { samplesFile: path.resolve(options.samplesFile) } : {}),
    ...model,
    ...(options.problemsFile ? { problemsFile: path.resolve(options.problemsFile) } : {}),
    ...(options.tasks?.length ? { tasks: options.tasks } : {}),
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
    ...(options.timeoutS !== undefined ? { timeoutS: options.timeoutS } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    concurrency: Math.max(1, options.concurrency ?? os.cpus().length),
    startedAt: same?.startedAt ?? startedAt.toISOString(),
    inputs,
  };

  const child = (u: Unit, order: number): EvalSamplePayload => ({
    runDir,
    dataset: options.dataset,
    ...(spec.problemsFile ? { problemsFile: spec.problemsFile } : {}),
    taskId: u.taskId,
    sample: u.sample,
    order,
    mode,
    ...(u.program !== undefined ? { program: u.program } : {}),
    ...(mode !== 'samples' ? { temperature: spec.temperature! } : {}),
    ...(spec.model !== undefined ? { model: spec.model } : {}),
    ...(spec.timeoutS !== undefined ? { timeoutS: spec.timeoutS } : {}),
    ...(spec.clock ? { clock: spec.clock } : {}),
  });
  const { inputs: _inputs, ...runSpec } = spec;
  const payload: EvalRunPayload = { ...runSpec, samples: units.map((u) => [u.taskId, u.sample]) };
  const id = await queue.enqueue({
    kind: EVAL_RUN_KIND,
    capability: EVAL_CAPABILITY,
    idempotencyKey: `eval.run\0${runDir}\0${inputs}`,
    payload,
    onChildDead: 'continue',
    children: units.map((u, i) => ({
      kind: EVAL_SAMPLE_KIND,
      capability: EVAL_CAPABILITY,
      payload: child(u, i),
    })),
  });
  fs.writeFileSync(path.join(runDir, 'run.json'), JSON.stringify({ id, ...spec }, null, 2) + '\n');
  if (mode === 'samples')
    fs.writeFileSync(
      path.join(runDir, 'samples.jsonl'),
      units.map((u) => JSON.stringify({ task_id: u.taskId, solution: u.program })).join('\n') + '\n',
    );
  return { id, runDir, total: units.length };
}

function modelSettings(options: SubmitOptions): Pick<EvalRunSpec, 'n' | 'temperature' | 'model'> {
  return {
    n: options.n ?? 1,
    temperature: options.temperature!,
    ...(options.model !== undefined ? { model: options.model } : {}),
  };
}

/** run.json of a run directory, or undefined. */
export function readRunSpec(runDir: string): (EvalRunSpec & { id: string; inputs?: string }) | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as EvalRunSpec & {
      id: string;
      inputs?: string;
    };
  } catch {
    return undefined;
  }
}

/** The options that submit a recorded run again (`june eval resume`). */
export function resubmitOptions(runDir: string): SubmitOptions {
  const spec = readRunSpec(runDir);
  if (!spec)
    throw new EvalError(
      'eval_bad_run',
      `${runDir} is not a run directory started on the task queue (no run.json).`,
    );
  return {
    dataset: spec.dataset,
    mode: spec.mode,
    ...(spec.samplesFile ? { samplesFile: spec.samplesFile } : {}),
    ...(spec.n !== undefined ? { n: spec.n } : {}),
    ...(spec.temperature !== undefined ? { temperature: spec.temperature } : {}),
    ...(spec.model !== undefined ? { model: spec.model } : {}),
    outDir: spec.runDir,
    concurrency: spec.concurrency,
    ...(spec.problemsFile ? { problemsFile: spec.problemsFile } : {}),
    ...(spec.tasks ? { tasks: spec.tasks } : {}),
    ...(spec.limit !== undefined ? { limit: spec.limit } : {}),
    ...(spec.timeoutS !== undefined ? { timeoutS: spec.timeoutS } : {}),
    ...(spec.clock ? { clock: spec.clock } : {}),
  };
}

/** The child index from a child id (`eval-<parent>.<index>`). */
function childIndex(id: string): number {
  return Number(id.slice(id.lastIndexOf('.') + 1));
}

/** The verdict a child stands for: its result, or an error verdict for a child that died or was cancelled. */
export function childVerdict(c: ChildSummary, taskId: string, sample: number): Verdict | undefined {
  if (c.state === 'completed') return (c.result as EvalSampleResult | undefined)?.verdict;
  if (c.state === 'dead' || c.state === 'cancelled')
    return {
      task_id: taskId,
      sample,
      status: 'error',
      detail: { error: `the check did not finish: ${c.error?.message ?? c.state}` },
      wall_ms: 0,
      cpu_ms: 0,
    };
  return undefined;
}

/** Verdicts in samples-file order (undefined where a child is not final yet), and ground-truth costs. */
export function collectVerdicts(
  payload: EvalRunPayload,
  children: ChildSummary[],
): { verdicts: (Verdict | undefined)[]; groundTruth: { tasks: number; cpuSeconds: number } } {
  const verdicts: (Verdict | undefined)[] = payload.samples.map(() => undefined);
  const groundTruth = { tasks: 0, cpuSeconds: 0 };
  for (const c of children) {
    const i = childIndex(c.id);
    const meta = payload.samples[i];
    if (!meta) continue;
    verdicts[i] = childVerdict(c, meta[0], meta[1]);
    const gt = (c.result as EvalSampleResult | undefined)?.groundTruthCpuSeconds ?? 0;
    if (c.state === 'completed' && gt > 0) {
      groundTruth.tasks++;
      groundTruth.cpuSeconds += gt;
    }
  }
  return { verdicts, groundTruth };
}

/**
 * Model modes: the programs the children produced, as samples.jsonl lines (samples-file order; '' where
 * nothing was produced); undefined in mode samples (the submitter wrote the file).
 */
export function producedPrograms(
  payload: EvalRunPayload,
  children: ChildSummary[],
): { task_id: string; solution: string }[] | undefined {
  if (payload.mode === 'samples') return undefined;
  const programs = payload.samples.map(([taskId]) => ({ task_id: taskId, solution: '' }));
  for (const c of children) {
    const row = programs[childIndex(c.id)];
    const program = (c.result as EvalSampleResult | undefined)?.program;
    if (row && c.state === 'completed' && program !== undefined) row.solution = program;
  }
  return programs;
}

/** The model(s) that answered, from the children's results; else the one the run was submitted for. */
function answeringModel(payload: EvalRunPayload, children: ChildSummary[]): string | undefined {
  const names = new Set<string>();
  for (const c of children) {
    const m = (c.result as EvalSampleResult | undefined)?.model;
    if (c.state === 'completed' && m) names.add(m);
  }
  return names.size ? [...names].sort().join(', ') : payload.model;
}

/** The summary and the verdicts (samples-file order) built from the children's records. */
export function runSummary(
  payload: EvalRunPayload,
  children: ChildSummary[],
  finishedAt = Date.now(),
): { summary: EvalSummary; verdicts: Verdict[] } {
  const { verdicts, groundTruth } = collectVerdicts(payload, children);
  const done = verdicts.filter((v): v is Verdict => v !== undefined);
  const model = payload.mode === 'samples' ? undefined : answeringModel(payload, children);
  const summary = summarize(
    payload.dataset,
    DATASETS[payload.dataset].plus,
    {
      verdicts: done,
      wallSeconds: (finishedAt - Date.parse(payload.startedAt)) / 1000,
      concurrency: payload.concurrency,
      groundTruth,
    },
    payload.startedAt,
    payload.mode === 'samples'
      ? {}
      : {
          mode: payload.mode,
          ...(model !== undefined ? { model } : {}),
          ...(payload.temperature !== undefined ? { temperature: payload.temperature } : {}),
        },
  );
  return { summary, verdicts: done };
}

/** Writes results.jsonl (replacing the live lines), summary.json and, in the model modes, samples.jsonl. */
export function writeRunFiles(
  runDir: string,
  summary: EvalSummary,
  verdicts: Verdict[],
  programs?: { task_id: string; solution: string }[],
): void {
  fs.mkdirSync(runDir, { recursive: true });
  if (programs)
    writeAtomic(path.join(runDir, 'samples.jsonl'), programs.map((p) => JSON.stringify(p)).join('\n') + '\n');
  writeAtomic(path.join(runDir, 'results.jsonl'), resultLines(verdicts));
  writeAtomic(path.join(runDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
}

export function resultLines(verdicts: Verdict[]): string {
  return verdicts.map((v) => JSON.stringify(v)).join('\n') + (verdicts.length ? '\n' : '');
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** Where a run stands: the parent's state and the children's progress. */
export interface EvalRunStatus {
  id: string;
  state: Task['state'];
  dataset: DatasetId;
  mode: string;
  runDir: string;
  startedAt: string;
  finishedAt?: number;
  total: number;
  done: number;
  passed: number;
  failed: number;
  /** Children by state. */
  states: Record<string, number>;
  summary?: EvalSummary;
  error?: { code: string; message: string };
}

export function isEvalRun(task: Task): boolean {
  return task.kind === EVAL_RUN_KIND;
}

export async function evalRunStatus(queue: TaskQueue, id: string): Promise<EvalRunStatus | undefined> {
  const detail = await queue.get(id);
  if (!detail || !isEvalRun(detail.task)) return undefined;
  const task = detail.task;
  const payload = task.payload as EvalRunPayload;
  const children = await queue.children(id);
  const states: Record<string, number> = {};
  let done = 0;
  let passed = 0;
  for (const c of children) {
    states[c.state] = (states[c.state] ?? 0) + 1;
    if (!FINAL_STATES.has(c.state)) continue;
    done++;
    if (c.state === 'completed' && (c.result as EvalSampleResult | undefined)?.verdict.status === 'pass')
      passed++;
  }
  const result = task.result as EvalRunResult | undefined;
  return {
    id,
    state: task.state,
    dataset: payload.dataset,
    mode: payload.mode,
    runDir: payload.runDir,
    startedAt: payload.startedAt,
    ...(task.finishedAt !== undefined ? { finishedAt: task.finishedAt } : {}),
    total: payload.samples.length,
    done,
    passed,
    failed: done - passed,
    states,
    ...(task.state === 'completed' && result?.summary ? { summary: result.summary } : {}),
    ...(task.error
      ? { error: { code: task.error.code, message: task.error.userMessage ?? task.error.message } }
      : {}),
  };
}

/**
 * Waits until the run's parent is final, calling `onProgress` as samples finish. A completed run's files
 * are written here too when this machine lacks them (the parent ran elsewhere).
 */
export async function waitForEvalRun(
  queue: TaskQueue,
  id: string,
  options: { pollMs?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ task: Task; summary?: EvalSummary; verdicts: Verdict[] }> {
  let lastDone = -1;
  for (;;) {
    options.signal?.throwIfAborted();
    const status = await evalRunStatus(queue, id);
    if (!status) throw new EvalError('eval_bad_run', `No eval run ${id} on the task queue.`);
    if (status.done !== lastDone) {
      lastDone = status.done;
      options.onProgress?.(status.done, status.total);
    }
    if (FINAL_STATES.has(status.state)) {
      const task = (await queue.get(id))!.task;
      const payload = task.payload as EvalRunPayload;
      const children = await queue.children(id);
      const verdicts = collectVerdicts(payload, children).verdicts.filter(
        (v): v is Verdict => v !== undefined,
      );
      if (task.state !== 'completed') return { task, verdicts };
      const summary = (task.result as EvalRunResult).summary;
      if (!fs.existsSync(path.join(payload.runDir, 'summary.json')))
        writeRunFiles(payload.runDir, summary, verdicts, producedPrograms(payload, children));
      return { task, summary, verdicts };
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
  }
}
