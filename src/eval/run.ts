/**
 * One `june eval run`: load the dataset and the samples, check them in the sandbox, and write the run
 * directory (results.jsonl in sample-file order, summary.json, the samples as checked) that `june eval
 * compare` and `june eval report` read back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { getLogger } from '../observability/logger.js';
import os from 'node:os';
import { checkSamples, type CheckOptions, type Verdict } from './checker.js';
import { datasetFile, type DatasetFileOptions } from './dataset-cache.js';
import { DATASETS, loadDataset, type DatasetId } from './datasets.js';
import { EvalError } from './errors.js';
import { readSamples } from './samples.js';
import { summarize, type EvalSummary } from './summary.js';
import { evaluateOne } from './sample-unit.js';
import { SandboxSanitizer } from './sanitize.js';
import type { EvalMode, SampleVerdict } from './types.js';
import { WarmChecker } from './warm-checker.js';
import type { JuneConfig } from '../config/schema.js';
import type { LanguageModel } from '../providers/types.js';
import type { Sandbox } from '../sandbox/types.js';
import type { Dataset, Problem } from './datasets.js';

export interface EvalRunOptions extends CheckOptions {
  dataset: DatasetId;
  samplesFile: string;
  /** The dataset file; default: the cached download. */
  problemsFile?: string;
  /** The run directory; default: <dataDir>/evals/<time>-<dataset>. */
  outDir?: string;
  /** Also write the per-sample verdicts here (sample-file order). */
  resultsFile?: string;
  /** Only these tasks (ids), or the first `limit` tasks of the dataset. */
  tasks?: string[];
  limit?: number;
  download?: DatasetFileOptions;
}

export interface EvalRunResult {
  summary: EvalSummary;
  verdicts: Verdict[];
  runDir: string;
}

export function defaultRunDir(
  config: Pick<JuneConfig, 'dataDir'>,
  dataset: DatasetId,
  now = new Date(),
): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return path.join(config.dataDir, 'evals', `${stamp}-${dataset.replace('+', 'plus')}`);
}

export async function runEval(
  config: Pick<JuneConfig, 'dataDir' | 'modelsDir' | 'offline'>,
  options: EvalRunOptions,
): Promise<EvalRunResult> {
  const startedAt = new Date();
  const problemsFile = options.problemsFile ?? (await datasetFile(config, options.dataset, options.download));
  const dataset = loadDataset(options.dataset, problemsFile);
  let samples = readSamples(options.samplesFile, dataset);
  if (options.tasks?.length) {
    const wanted = new Set(options.tasks);
    const unknown = options.tasks.filter((t) => !dataset.byId.has(t));
    if (unknown.length)
      throw new EvalError(
        'eval_bad_input',
        `Unknown task ids for ${options.dataset}: ${unknown.join(', ')}.`,
      );
    samples = samples.filter((s) => wanted.has(s.taskId));
  } else if (options.limit !== undefined) {
    const first = new Set(dataset.problems.slice(0, options.limit).map((p) => p.taskId));
    samples = samples.filter((s) => first.has(s.taskId));
  }
  if (samples.length === 0)
    throw new EvalError('eval_bad_input', `No samples to check in ${options.samplesFile}.`);

  const runDir = path.resolve(options.outDir ?? defaultRunDir(config, options.dataset, startedAt));
  fs.mkdirSync(runDir, { recursive: true });
  getLogger().info({ dataset: options.dataset, samples: samples.length, runDir }, 'eval run started');
  const run = await checkSamples(dataset, samples, options);
  const summary = summarize(options.dataset, DATASETS[options.dataset].plus, run, startedAt.toISOString());

  const lines = run.verdicts.map((v) => JSON.stringify(v)).join('\n') + '\n';
  fs.writeFileSync(path.join(runDir, 'results.jsonl'), lines);
  fs.writeFileSync(path.join(runDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  fs.writeFileSync(
    path.join(runDir, 'samples.jsonl'),
    samples.map((s) => JSON.stringify({ task_id: s.taskId, solution: s.program })).join('\n') + '\n',
  );
  if (options.resultsFile) fs.writeFileSync(options.resultsFile, lines);
  getLogger().info({ runDir, passAtK: summary.passAtK }, 'eval run finished');
  return { summary, verdicts: run.verdicts, runDir };
}

export interface ModelRunOptions {
  dataset: DatasetId;
  mode: Exclude<EvalMode, 'samples'>;
  model: LanguageModel;
  /** Samples per problem (default 1). */
  n?: number;
  /** Default: config.llmTemperature. */
  temperature?: number;
  problemsFile?: string;
  outDir?: string;
  resultsFile?: string;
  tasks?: string[];
  limit?: number;
  /** Samples produced and checked at once. Default: the number of cores. */
  concurrency?: number;
  timeoutS?: number;
  clock?: CheckOptions['clock'];
  /** Agent mode: where the agent's commands run; default: the configured sandbox. */
  sandbox?: Sandbox;
  download?: DatasetFileOptions;
  onVerdict?: (v: SampleVerdict, done: number, total: number) => void;
  signal?: AbortSignal;
}

/** The dataset's problems, or the subset named by `tasks` or the first `limit`. */
export function selectProblems(dataset: Dataset, tasks?: string[], limit?: number): Problem[] {
  if (tasks?.length) {
    const unknown = tasks.filter((t) => !dataset.byId.has(t));
    if (unknown.length)
      throw new EvalError(
        'eval_bad_input',
        `Unknown task ids for ${dataset.source.id}: ${unknown.join(', ')}.`,
      );
    return tasks.map((t) => dataset.byId.get(t)!);
  }
  return limit !== undefined ? dataset.problems.slice(0, limit) : dataset.problems;
}

/**
 * `june eval run --mode completion|agent`: n samples per problem produced by the model or the agent and
 * checked, `concurrency` at a time, in this process (queue-run.ts is the durable, distributed way).
 */
export async function runModelEval(config: JuneConfig, options: ModelRunOptions): Promise<EvalRunResult> {
  const startedAt = new Date();
  const problemsFile = options.problemsFile ?? (await datasetFile(config, options.dataset, options.download));
  const dataset = loadDataset(options.dataset, problemsFile);
  const problems = selectProblems(dataset, options.tasks, options.limit);
  const n = options.n ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new EvalError('eval_bad_input', `--n must be a whole number ≥ 1.`);
  if (problems.length === 0) throw new EvalError('eval_bad_input', 'No problems to evaluate.');
  const temperature = options.temperature ?? config.llmTemperature;
  const runDir = path.resolve(options.outDir ?? defaultRunDir(config, options.dataset, startedAt));
  fs.mkdirSync(runDir, { recursive: true });
  const concurrency = Math.max(1, options.concurrency ?? os.cpus().length);
  const logger = getLogger();
  logger.info(
    { dataset: options.dataset, mode: options.mode, problems: problems.length, n, runDir },
    'eval run started',
  );
  const units = problems.flatMap((problem) =>
    Array.from({ length: n }, (_, sample) => ({ problem, sample })),
  );
  const checker = new WarmChecker();
  const sanitizer = new SandboxSanitizer();
  const outcomes: Awaited<ReturnType<typeof evaluateOne>>[] = new Array(units.length);
  let next = 0;
  let done = 0;
  let gtCpu = 0;
  let gtTasks = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < units.length) {
      options.signal?.throwIfAborted();
      const i = next++;
      const u = units[i]!;
      const outcome = await evaluateOne({
        config,
        dataset,
        problem: u.problem,
        mode: options.mode,
        sampleIndex: u.sample,
        temperature,
        runDir,
        model: options.model,
        checker,
        sanitizer,
        ...(options.sandbox ? { sandbox: options.sandbox } : {}),
        ...(options.timeoutS !== undefined ? { timeoutS: options.timeoutS } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        logger,
      });
      outcomes[i] = outcome;
      gtCpu += outcome.groundTruthCpuSeconds;
      if (outcome.groundTruthCpuSeconds > 0) gtTasks++;
      options.onVerdict?.(outcome.verdict, ++done, units.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, units.length) }, worker));
  } finally {
    await Promise.allSettled([checker.close(), sanitizer.close()]);
  }
  const verdicts = outcomes.map((o) => o.verdict);
  const summary = summarize(
    options.dataset,
    DATASETS[options.dataset].plus,
    {
      verdicts,
      wallSeconds: (performance.now() - started) / 1000,
      concurrency,
      groundTruth: { tasks: gtTasks, cpuSeconds: gtCpu },
    },
    startedAt.toISOString(),
    { mode: options.mode, model: options.model.model, temperature },
  );
  const lines = verdicts.map((v) => JSON.stringify(v)).join('\n') + '\n';
  fs.writeFileSync(path.join(runDir, 'results.jsonl'), lines);
  fs.writeFileSync(path.join(runDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  fs.writeFileSync(
    path.join(runDir, 'samples.jsonl'),
    outcomes
      .map((o, i) => JSON.stringify({ task_id: units[i]!.problem.taskId, solution: o.program ?? '' }))
      .join('\n') + '\n',
  );
  if (options.resultsFile) fs.writeFileSync(options.resultsFile, lines);
  logger.info({ runDir, passAtK: summary.passAtK, efficiency: summary.efficiency }, 'eval run finished');
  return { summary, verdicts, runDir };
}

/** Reads a run directory back (for compare and report). */
export function loadRun(runDir: string): {
  summary: EvalSummary;
  verdicts: Verdict[];
  programs: Map<string, string[]>;
} {
  const read = (name: string) => {
    try {
      return fs.readFileSync(path.join(runDir, name), 'utf8');
    } catch {
      throw new EvalError('eval_bad_run', `${runDir} is not an eval run directory (no ${name}).`);
    }
  };
  const summary = JSON.parse(read('summary.json')) as EvalSummary;
  const verdicts = read('results.jsonl')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Verdict);
  const programs = new Map<string, string[]>();
  try {
    for (const line of read('samples.jsonl').split('\n')) {
      if (!line.trim()) continue;
      const s = JSON.parse(line) as { task_id: string; solution: string };
      programs.set(s.task_id, [...(programs.get(s.task_id) ?? []), s.solution]);
    }
  } catch {
    // programs are optional for compare; the report shows verdicts without them
  }
  return { summary, verdicts, programs };
}
