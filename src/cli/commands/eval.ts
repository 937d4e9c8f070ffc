/**
 * `june eval`: check code samples against HumanEval(+) and MBPP(+) in the sandbox (`run`), compare two
 * runs (`compare`), and write a run's HTML report (`report`). `run` checks given samples (a durable run on
 * the task queue), or has the configured model (`--mode completion`) or the coding agent (`--mode agent`)
 * produce them; every mode is a durable run on the task queue, one task per sample (docs/eval.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { baselinesFor } from '../../eval/baselines.js';
import { compareRuns, type Comparison } from '../../eval/compare.js';
import { datasetFile } from '../../eval/dataset-cache.js';
import { DATASETS, DATASET_IDS, isDatasetId, type DatasetId } from '../../eval/datasets.js';
import { EvalError } from '../../eval/errors.js';
import { renderReport } from '../../eval/report.js';
import { loadRun } from '../../eval/run.js';
import type { EvalSummary } from '../../eval/summary.js';
import { progressCallback } from '../../providers/factory.js';
import { configuredModelName } from '../../eval/queue-run.js';
import { cliContext } from '../context.js';
import { registerResume, runEvalOnQueue } from './eval-queue.js';

interface RunOpts {
  dataset: string;
  samples?: string;
  n?: string;
  temperature?: string;
  problems?: string;
  json?: boolean;
  results?: string;
  out?: string;
  concurrency?: string;
  timeout?: string;
  limit?: string;
  tasks?: string;
  mode?: string;
  clock?: string;
  worker?: boolean;
}

function dataset(value: string): DatasetId {
  if (!isDatasetId(value))
    throw new EvalError('eval_bad_input', `Unknown dataset "${value}"; datasets: ${DATASET_IDS.join(', ')}.`);
  return value;
}

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new EvalError('eval_bad_input', `--${name} must be a positive number, got "${value}".`);
  return n;
}

const pct = (x: number | undefined) => (x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);

function formatComparison(c: Comparison): string {
  const lines = [
    `${c.metric}: ${c.tasks} tasks in both runs; both pass ${c.bothPass}, both fail ${c.bothFail}`,
    ...Object.keys(c.passAtKA).map(
      (k) =>
        `  ${k}: ${pct(c.passAtKA[k])} → ${pct(c.passAtKB[k])} (${c.delta[k]! >= 0 ? '+' : ''}${((c.delta[k] ?? 0) * 100).toFixed(1)} points)`,
    ),
    `  newly passing (${c.newlyPassing.length}): ${c.newlyPassing.join(' ') || '–'}`,
    `  newly failing (${c.newlyFailing.length}): ${c.newlyFailing.join(' ') || '–'}`,
    `  exact McNemar test: p = ${c.pValue.toPrecision(3)}${c.pValue < 0.05 ? ' (significant at 0.05)' : ' (not significant at 0.05)'}`,
  ];
  return lines.join('\n') + '\n';
}

function printSummary(summary: EvalSummary, runDir: string, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ ...summary, runDir }, null, 2) + '\n');
    return;
  }
  const e = summary.efficiency;
  const out = [
    `${summary.dataset} (${summary.mode}${summary.model ? `, ${summary.model}` : ''}): ${summary.samples} samples, ${summary.tasks} tasks, n=${summary.n}`,
    ...Object.entries(summary.passAtK.base).map(([k, v]) => `  base ${k}: ${pct(v)}`),
    ...Object.entries(summary.passAtK.plus ?? {}).map(([k, v]) => `  plus ${k}: ${pct(v)}`),
    `  statuses: ${Object.entries(summary.statusCounts)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')}`,
    `  ${summary.wallSeconds} s (${summary.perSample.runMs} ms per sample, concurrency ${summary.concurrency})`,
    ...(e
      ? [
          `  tokens: prompt ${e.tokens.prompt}, completion ${e.tokens.completion}, reasoning ${e.tokens.reasoning}; model ${e.modelSeconds} s; ${e.wallSecondsPerProblem} s per problem; ${e.steps} steps, ${e.toolCalls} tool calls${e.costUsd !== undefined ? `; cost $${e.costUsd.toFixed(4)}` : ''}`,
        ]
      : []),
    `  run directory: ${runDir}`,
  ];
  process.stdout.write(out.join('\n') + '\n');
}

export function register(program: Command): void {
  const evalCmd = program
    .command('eval')
    .description('Check code samples against HumanEval(+) and MBPP(+) in the sandbox');

  evalCmd
    .command('run')
    .description(
      'Check a samples file ({task_id, completion} or {task_id, solution} per line), or the model or agent',
    )
    .requiredOption('--dataset <id>', `one of ${DATASET_IDS.join(', ')}`)
    .option('--samples <file>', 'samples (.jsonl); required with --mode samples')
    .option('--n <n>', 'samples per problem (completion and agent modes; default 1)')
    .option('--temperature <t>', 'sampling temperature (default: JUNE_LLM_TEMPERATURE)')
    .option('--problems <file>', 'dataset file (.jsonl, .jsonl.gz, .json) instead of the cached download')
    .option('--json', 'print the summary as JSON')
    .option('--results <file>', 'write the per-sample verdicts (JSON lines, samples-file order)')
    .option('--out <dir>', 'run directory (default: $JUNE_DATA_DIR/evals/<time>-<dataset>)')
    .option('--concurrency <n>', 'samples produced and checked at once (default: the number of cores)')
    .option('--timeout <seconds>', "time limit of the original tests per sample (default 3, human-eval's)")
    .option('--limit <n>', 'only the first n tasks of the dataset')
    .option('--tasks <ids>', 'only these task ids (comma-separated)')
    .option('--clock <clock>', 'what time limits count: cpu (default) or wall (as human-eval)', 'cpu')
    .option(
      '--mode <mode>',
      'samples (check --samples), completion (the configured model) or agent (the coding agent)',
      'samples',
    )
    .option('--no-worker', 'do not produce or check samples here: `june worker` processes serving eval do')
    .action(async (opts: RunOpts) => {
      const { config, logger } = cliContext();
      const mode = opts.mode ?? 'samples';
      if (mode !== 'samples' && mode !== 'completion' && mode !== 'agent')
        throw new EvalError('eval_bad_input', `--mode must be samples, completion or agent, got "${mode}".`);
      const id = dataset(opts.dataset);
      if (opts.clock !== 'cpu' && opts.clock !== 'wall')
        throw new EvalError('eval_bad_input', `--clock must be cpu or wall, got "${opts.clock}".`);
      if (mode !== 'samples') {
        if (opts.samples)
          throw new EvalError(
            'eval_bad_input',
            `--samples is for --mode samples; --mode ${mode} produces its own.`,
          );
        const temperature = opts.temperature === undefined ? undefined : Number(opts.temperature);
        if (temperature !== undefined && !(temperature >= 0 && temperature <= 2))
          throw new EvalError(
            'eval_bad_input',
            `--temperature must be between 0 and 2, got "${opts.temperature}".`,
          );
        const n = positive('n', opts.n);
        if (n !== undefined && !Number.isInteger(n))
          throw new EvalError('eval_bad_input', `--n must be a whole number, got "${opts.n}".`);
        // a durable run on the task queue: each problem × sample is a task that asks the model (or runs the
        // agent) once, records the answer and checks it; the same command again (same --out) resumes it
        const { summary, runDir } = await runEvalOnQueue(config, logger, {
          dataset: id,
          mode,
          ...(n !== undefined ? { n } : {}),
          temperature: temperature ?? config.llmTemperature,
          ...(configuredModelName(config) !== undefined ? { model: configuredModelName(config) } : {}),
          problemsFile: opts.problems,
          outDir: opts.out,
          resultsFile: opts.results,
          concurrency: positive('concurrency', opts.concurrency),
          timeoutS: positive('timeout', opts.timeout),
          clock: opts.clock,
          limit: positive('limit', opts.limit),
          tasks: opts.tasks
            ?.split(',')
            .map((t) => t.trim())
            .filter(Boolean),
          download: { onProgress: progressCallback(`dataset ${id}`) },
          worker: opts.worker !== false,
          onProgress: (done, total) => {
            if (!opts.json && process.stderr.isTTY) process.stderr.write(`\rdone ${done}/${total}`);
          },
        });
        if (!opts.json && process.stderr.isTTY) process.stderr.write('\n');
        printSummary(summary, runDir, opts.json === true);
        return;
      }
      if (!opts.samples)
        throw new EvalError(
          'eval_bad_input',
          '--mode samples needs --samples FILE (or --mode completion|agent).',
        );
      if (opts.n !== undefined || opts.temperature !== undefined)
        throw new EvalError('eval_bad_input', '--n and --temperature are for --mode completion and agent.');
      // a durable run on the task queue: running the same command again (same --out) resumes it
      const { summary, runDir } = await runEvalOnQueue(config, logger, {
        dataset: id,
        samplesFile: opts.samples,
        problemsFile: opts.problems,
        outDir: opts.out,
        resultsFile: opts.results,
        concurrency: positive('concurrency', opts.concurrency),
        timeoutS: positive('timeout', opts.timeout),
        clock: opts.clock,
        limit: positive('limit', opts.limit),
        tasks: opts.tasks
          ?.split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        download: { onProgress: progressCallback(`dataset ${id}`) },
        worker: opts.worker !== false,
        onProgress: (done, total) => {
          if (!opts.json && process.stderr.isTTY) process.stderr.write(`\rchecked ${done}/${total}`);
        },
      });
      if (!opts.json && process.stderr.isTTY) process.stderr.write('\n');
      printSummary(summary, runDir, opts.json === true);
    });

  registerResume(evalCmd, printSummary);

  evalCmd
    .command('compare')
    .description('Compare two runs task by task (newly failing / passing, exact McNemar test)')
    .argument('<runA>', 'run directory (the baseline)')
    .argument('<runB>', 'run directory (the candidate)')
    .option('--json', 'as JSON')
    .action((runA: string, runB: string, opts: { json?: boolean }) => {
      const a = loadRun(runA);
      const b = loadRun(runB);
      if (a.summary.dataset !== b.summary.dataset)
        throw new EvalError(
          'eval_bad_input',
          `The runs are on different datasets (${a.summary.dataset} and ${b.summary.dataset}); compare runs of one dataset.`,
        );
      const metrics: ('base' | 'plus')[] =
        a.summary.passAtK.plus && b.summary.passAtK.plus ? ['base', 'plus'] : ['base'];
      const comparisons = metrics.map((m) => compareRuns(a, b, m));
      const baselines = baselinesFor(a.summary.dataset);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ comparisons, baselines }, null, 2) + '\n');
        return;
      }
      process.stdout.write(comparisons.map(formatComparison).join(''));
      if (baselines.length) {
        process.stdout.write('published baselines (model only, not agentic):\n');
        for (const bl of baselines)
          process.stdout.write(`  ${bl.model} ${bl.metric}: ${pct(bl.value)} (${bl.source})\n`);
      }
    });

  evalCmd
    .command('report')
    .description('Write a run as one self-contained HTML file')
    .argument('<run>', 'run directory')
    .option('-o, --out <file>', 'HTML file (default: <run>/report.html)')
    .action((run: string, opts: { out?: string }) => {
      const { summary, verdicts } = loadRun(run);
      const file = path.resolve(opts.out ?? path.join(run, 'report.html'));
      fs.writeFileSync(file, renderReport(summary, verdicts));
      process.stdout.write(`${file}\n`);
    });

  evalCmd
    .command('pull')
    .description('Download a dataset into the dataset cache')
    .argument('<dataset>', DATASET_IDS.join(', '))
    .action(async (value: string) => {
      const { config } = cliContext();
      const id = dataset(value);
      const file = await datasetFile(config, id, { onProgress: progressCallback(`dataset ${id}`) });
      process.stdout.write(`${file}  (${DATASETS[id].description})\n`);
    });
}
