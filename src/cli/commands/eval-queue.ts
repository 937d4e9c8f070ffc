/**
 * `june eval run` on the task queue: the run is submitted as an `eval.run` parent with one `eval.sample`
 * child per sample (given, or problem × sample index that the configured model or the coding agent
 * produces) on the configured queue, and this process serves the `eval` capability itself (unless
 * --no-worker: then `june worker` processes serving eval, on this machine or others, produce and check the
 * samples with their own configured model).
 * Submitting the same run again (same --out and inputs) or `june eval resume RUN` finds the same tasks, so
 * a run killed midway goes on where it stopped. Also `addEvalCapability` for `june start` / `june worker`.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { Command } from 'commander';
import type { JuneConfig } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import { EvalError } from '../../eval/errors.js';
import { createEvalHandlers } from '../../eval/queue-handlers.js';
import {
  EVAL_CAPABILITY,
  resubmitOptions,
  resultLines,
  submitEvalRun,
  waitForEvalRun,
  type SubmitOptions,
} from '../../eval/queue-run.js';
import type { EvalSummary } from '../../eval/summary.js';
import { HandlerRegistry } from '../../tasks/handlers.js';
import { openTaskQueue } from '../../tasks/open-queue.js';
import { startWorkers, type WorkerPool } from '../../tasks/runtime.js';
import { cliContext } from '../context.js';

/** Registers the eval handlers when the config asks for the `eval` capability and the sandbox works. */
export async function addEvalCapability(
  handlers: HandlerRegistry,
  config: JuneConfig,
  logger: Logger,
): Promise<(() => Promise<void>) | undefined> {
  if (!config.workerCapabilities.includes(EVAL_CAPABILITY)) return undefined;
  const evals = await createEvalHandlers({ config, logger });
  if (!evals) return undefined;
  evals.register(handlers);
  return () => evals.close();
}

export interface QueueRunOptions extends SubmitOptions {
  resultsFile?: string;
  /** Serve `eval` in this process (default true). */
  worker?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export async function runEvalOnQueue(
  config: JuneConfig,
  logger: Logger,
  options: QueueRunOptions,
): Promise<{ summary: EvalSummary; runDir: string; id: string }> {
  const queue = await openTaskQueue(config, { logger });
  let pool: WorkerPool | undefined;
  let closeHandlers: (() => Promise<void>) | undefined;
  const controller = new AbortController();
  const onSigint = () =>
    controller.abort(new EvalError('eval_bad_run', 'Interrupted; run it again to resume.'));
  process.once('SIGINT', onSigint);
  try {
    const run = await submitEvalRun(config, queue, options);
    if (options.worker !== false) {
      const evals = await createEvalHandlers({ config, logger });
      if (!evals)
        throw new EvalError(
          'eval_sandbox',
          'The checker sandbox (bubblewrap with /usr/bin/python3) does not work here. Install bubblewrap (scripts/setup.sh), or run with --no-worker and `june worker` serving eval on a machine where it works.',
        );
      closeHandlers = () => evals.close();
      const registry = new HandlerRegistry();
      evals.register(registry);
      pool = await startWorkers({
        queue,
        config,
        logger,
        registry,
        capabilities: [EVAL_CAPABILITY],
        concurrency: Math.max(1, options.concurrency ?? os.cpus().length),
        metrics: false,
        drainTimeoutMs: 5000,
      });
    }
    const done = await waitForEvalRun(queue, run.id, {
      signal: controller.signal,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    if (!done.summary)
      throw new EvalError(
        'eval_bad_run',
        `The eval run ${run.id} ended ${done.task.state}${done.task.error ? `: ${done.task.error.userMessage ?? done.task.error.message}` : ''}.`,
      );
    if (options.resultsFile) fs.writeFileSync(options.resultsFile, resultLines(done.verdicts));
    return { summary: done.summary, runDir: run.runDir, id: run.id };
  } finally {
    process.removeListener('SIGINT', onSigint);
    await pool?.stop();
    await closeHandlers?.();
    await queue.close();
  }
}

/** `june eval resume RUN`: submits a recorded run again; its finished samples are not checked again. */
export function registerResume(
  evalCmd: Command,
  print: (summary: EvalSummary, runDir: string, json: boolean) => void,
): void {
  evalCmd
    .command('resume')
    .description('Go on with a run that was stopped (its finished samples are kept)')
    .argument('<run>', 'run directory')
    .option('--json', 'print the summary as JSON')
    .option('--no-worker', 'do not produce or check samples here: `june worker` processes serving eval do')
    .action(async (run: string, opts: { json?: boolean; worker?: boolean }) => {
      const { config, logger } = cliContext();
      const { summary, runDir } = await runEvalOnQueue(config, logger, {
        ...resubmitOptions(run),
        worker: opts.worker !== false,
        onProgress: (d, t) => {
          if (!opts.json && process.stderr.isTTY) process.stderr.write(`\rchecked ${d}/${t}`);
        },
      });
      if (!opts.json && process.stderr.isTTY) process.stderr.write('\n');
      print(summary, runDir, opts.json === true);
    });
}
