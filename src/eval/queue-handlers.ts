/**
 * The `eval` capability's task handlers: `eval.sample` produces one sample when the run has the model or
 * the agent produce them, checks it in this process's warm checker sandbox and returns its verdict (the
 * task's recorded result); `eval.run` (the parent, run once every sample is final) builds the summary from
 * its children's results and writes the run's files. They are offered only where the checker's sandbox
 * works, so a worker advertises `eval` only on machines that can run samples safely.
 *
 * In the model modes the sample is produced inside `ctx.once('produce')`: the model's answer (or the
 * agent's solution) and its metrics are recorded with the task, so a task run again after its worker died
 * checks the recorded program and never asks the model again. The model is this worker's configured one
 * (created on the first model-mode sample, kept until close); a run submitted for another model name is
 * refused rather than answered by the wrong model. Whoever wires workers registers them:
 *
 *   const evals = await createEvalHandlers({ config, logger });
 *   if (evals) evals.register(handlers);   // … and evals.close() when the workers stop
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { createLanguageModel } from '../providers/factory.js';
import type { LanguageModel } from '../providers/types.js';
import type { Sandbox } from '../sandbox/types.js';
import type { HandlerContext, HandlerRegistry } from '../tasks/handlers.js';
import { JuneError } from '../util/errors.js';
import type { Dataset, Problem } from './datasets.js';
import { EvalError } from './errors.js';
import {
  EVAL_CAPABILITY,
  EVAL_RUN_KIND,
  EVAL_SAMPLE_KIND,
  producedPrograms,
  runSummary,
  writeRunFiles,
  type EvalRunPayload,
  type EvalRunResult,
  type EvalSamplePayload,
  type EvalSampleResult,
} from './queue-run.js';
import { checkProduced, produceSample, type Produced } from './sample-unit.js';
import { SandboxSanitizer } from './sanitize.js';
import type { SampleVerdict } from './types.js';
import { checkerSandboxWorks, WarmChecker } from './warm-checker.js';

/**
 * Where this worker writes a sample's answer and agent run: the run directory when it can be made here (one
 * machine, or a shared file system), else `<data dir>/evals/remote/<run>` on this worker's machine.
 */
function writableRunDir(runDir: string, dataDir: string, logger: Logger): string {
  try {
    fs.mkdirSync(runDir, { recursive: true });
    fs.accessSync(runDir, fs.constants.W_OK);
    return runDir;
  } catch (err) {
    const local = path.join(dataDir, 'evals', 'remote', path.basename(runDir));
    logger.warn({ err: String(err), runDir, local }, 'the eval run directory is not writable here');
    fs.mkdirSync(local, { recursive: true });
    return local;
  }
}

export interface EvalHandlers {
  register(registry: HandlerRegistry): void;
  /** Stops the warm sandbox. */
  close(): Promise<void>;
}

export interface EvalHandlerOptions {
  /** The whole config: the model modes create the configured language model and agent sandbox from it. */
  config: JuneConfig;
  logger: Logger;
  /** Skip the sandbox probe (the caller knows it works). */
  skipProbe?: boolean;
  /** The language model for the model modes; default: the configured one, created on first use. */
  model?: LanguageModel;
  /** Where the agent's commands run; default: the configured sandbox. */
  sandbox?: Sandbox;
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
  const sanitizer = new SandboxSanitizer();
  let ownModel: Promise<LanguageModel> | undefined;
  const model = (): Promise<LanguageModel> => {
    if (o.model) return Promise.resolve(o.model);
    if (!ownModel) {
      ownModel = (async () => {
        const m = await createLanguageModel(o.config, { logger: o.logger });
        await m.load();
        return m;
      })();
      ownModel.catch(() => (ownModel = undefined));
    }
    return ownModel;
  };

  /** Model modes: produce the sample once (recorded with the task), then check it. */
  const produceAndCheck = async (
    ctx: HandlerContext<EvalSamplePayload>,
    dataset: Dataset,
    problem: Problem,
  ): Promise<EvalSampleResult> => {
    const p = ctx.task.payload;
    const mode = p.mode!;
    const runDir = writableRunDir(p.runDir, o.config.dataDir, ctx.logger);
    const unit = {
      config: o.config,
      dataset,
      problem,
      mode,
      sampleIndex: p.sample,
      ...(p.temperature !== undefined ? { temperature: p.temperature } : {}),
      runDir,
      checker,
      sanitizer,
      ...(o.sandbox ? { sandbox: o.sandbox } : {}),
      ...(p.timeoutS !== undefined ? { timeoutS: p.timeoutS } : {}),
      ...(p.clock ? { clock: p.clock } : {}),
      signal: ctx.signal,
      logger: ctx.logger,
      // a failure the queue will retry (a provider that is down) is thrown, so nothing is recorded for it
      rethrow: (err: unknown) => ctx.willRetry(err),
    };
    const produced = await ctx.once<Produced>('produce', async () => {
      const m = await model();
      if (p.model !== undefined && m.model !== p.model)
        throw new JuneError(`this worker's model ${m.model} is not the run's model ${p.model}`, {
          code: 'eval_wrong_model',
          userMessage: `The eval run was started for the model ${p.model}, but this worker is configured with ${m.model}. Configure the workers serving eval with the run's model (JUNE_LLM_MODEL).`,
          retryable: false,
        });
      return produceSample({ ...unit, model: m });
    });
    const outcome = await checkProduced(unit, produced);
    return {
      verdict: outcome.verdict,
      groundTruthCpuSeconds: outcome.groundTruthCpuSeconds,
      ...(outcome.program !== undefined ? { program: outcome.program } : {}),
      ...(produced.model !== undefined ? { model: produced.model } : {}),
    };
  };

  const sample = async (ctx: HandlerContext<EvalSamplePayload>): Promise<EvalSampleResult> => {
    const p = ctx.task.payload;
    const dataset = await checker.dataset(o.config, p.dataset, p.problemsFile);
    const problem = dataset.byId.get(p.taskId);
    if (!problem) throw new EvalError('eval_bad_input', `Task ${p.taskId} is not in ${p.dataset}.`);
    let result: EvalSampleResult;
    try {
      if (p.mode && p.mode !== 'samples') result = await produceAndCheck(ctx, dataset, problem);
      else {
        if (p.program === undefined)
          throw new EvalError('eval_bad_input', `Sample ${p.taskId}#${p.sample} has no program.`);
        // a cancelled task stops waiting at once (the worker drops the attempt); the job ends in the sandbox
        result = await checker.check({
          dataset,
          problem,
          program: p.program,
          sample: p.sample,
          ...(p.timeoutS !== undefined ? { timeoutS: p.timeoutS } : {}),
          ...(p.clock ? { clock: p.clock } : {}),
        });
      }
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
      ...((result.verdict as SampleVerdict).generation_error ? { generation_error: true } : {}),
    });
    return result;
  };

  const run = async (ctx: HandlerContext<EvalRunPayload>): Promise<EvalRunResult> => {
    const payload = ctx.task.payload;
    const children = await ctx.children();
    const { summary, verdicts } = runSummary(payload, children);
    try {
      writeRunFiles(payload.runDir, summary, verdicts, producedPrograms(payload, children));
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
    close: async () => {
      const m = ownModel;
      ownModel = undefined;
      await Promise.allSettled([
        checker.close(),
        sanitizer.close(),
        m?.then((x) => x.close()).catch(() => undefined),
      ]);
    },
  };
}
