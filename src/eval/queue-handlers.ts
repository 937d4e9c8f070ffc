/**
 * The `eval` capability's task handlers: `eval.sample` checks one sample in this process's warm checker
 * sandbox and returns its verdict (the task's recorded result), `eval.run` (the parent, run once every
 * sample is final) builds the summary from its children's results and writes the run's files. They are
 * offered only where the checker's sandbox works, so a worker advertises `eval` only on machines that can
 * run samples safely. Whoever wires workers registers them:
 *
 *   const evals = await createEvalHandlers({ config, logger });
 *   if (evals) evals.register(handlers);   // … and evals.close() when the workers stop
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { HandlerContext, HandlerRegistry } from '../tasks/handlers.js';
import { JuneError } from '../util/errors.js';
import { EvalError } from './errors.js';
import {
  EVAL_CAPABILITY,
  EVAL_RUN_KIND,
  EVAL_SAMPLE_KIND,
  runSummary,
  writeRunFiles,
  type EvalRunPayload,
  type EvalRunResult,
  type EvalSamplePayload,
  type EvalSampleResult,
} from './queue-run.js';
import { checkerSandboxWorks, WarmChecker } from './warm-checker.js';

export interface EvalHandlers {
  register(registry: HandlerRegistry): void;
  /** Stops the warm sandbox. */
  close(): Promise<void>;
}

export interface EvalHandlerOptions {
  config: Pick<JuneConfig, 'modelsDir' | 'offline'>;
  logger: Logger;
  /** Skip the sandbox probe (the caller knows it works). */
  skipProbe?: boolean;
}

/** The handlers, when the checker's sandbox works here; undefined (and a log line) when it does not. */
export async function createEvalHandlers(o: EvalHandlerOptions): Promise<EvalHandlers | undefined> {
  if (!o.skipProbe) {
    const probe = await checkerSandboxWorks();
    if (!probe.ok) {
      o.logger.warn(
        { detail: probe.detail },
        'the eval checker sandbox does not work here: not serving eval',
      );
      return undefined;
    }
  }
  const checker = new WarmChecker();

  const sample = async (ctx: HandlerContext<EvalSamplePayload>): Promise<EvalSampleResult> => {
    const p = ctx.task.payload;
    const dataset = await checker.dataset(o.config, p.dataset, p.problemsFile);
    const problem = dataset.byId.get(p.taskId);
    if (!problem) throw new EvalError('eval_bad_input', `Task ${p.taskId} is not in ${p.dataset}.`);
    let result: EvalSampleResult;
    try {
      // a cancelled task stops waiting at once (the worker drops the attempt); the job ends in the sandbox
      result = await checker.check({
        dataset,
        problem,
        program: p.program,
        sample: p.sample,
        ...(p.timeoutS !== undefined ? { timeoutS: p.timeoutS } : {}),
        ...(p.clock ? { clock: p.clock } : {}),
      });
    } catch (err) {
      // the sandbox stopped under this check (a crash, the machine out of memory): another attempt may work
      if (err instanceof EvalError && err.code === 'eval_sandbox')
        throw new JuneError(err.message, { code: 'eval_sandbox', retryable: true, cause: err });
      throw err;
    }
    // a live line for whoever follows the run directory on this machine; the parent rewrites the file
    // in samples-file order at the end
    try {
      if (fs.existsSync(p.runDir))
        fs.appendFileSync(path.join(p.runDir, 'results.jsonl'), JSON.stringify(result.verdict) + '\n');
    } catch (err) {
      ctx.logger.debug({ err: String(err) }, 'could not append to results.jsonl');
    }
    await ctx.reportProgress('checked', {
      task_id: p.taskId,
      sample: p.sample,
      status: result.verdict.status,
    });
    return result;
  };

  const run = async (ctx: HandlerContext<EvalRunPayload>): Promise<EvalRunResult> => {
    const payload = ctx.task.payload;
    const { summary, verdicts } = runSummary(payload, await ctx.children());
    try {
      writeRunFiles(payload.runDir, summary, verdicts);
    } catch (err) {
      // the run directory is on another machine (not shared): whoever waits for the run writes the files
      ctx.logger.warn(
        { err: String(err), runDir: payload.runDir },
        'could not write the eval run files here',
      );
    }
    return { runDir: payload.runDir, summary };
  };

  return {
    register(registry) {
      registry.register(EVAL_SAMPLE_KIND, EVAL_CAPABILITY, sample);
      registry.register(EVAL_RUN_KIND, EVAL_CAPABILITY, run);
    },
    close: () => checker.close(),
  };
}
