/**
 * The `code` capability on the task backbone: a handler for `agent.code` tasks that runs the coding
 * agent, reporting each step as a progress event ("step 4: running: npm test"). It is registered only
 * where a sandbox backend works, so a worker advertises `code` only on machines that can run commands
 * safely; a worker with bubblewrap or Docker can then serve coding tasks for the whole deployment
 * (JUNE_WORKER_CAPABILITIES=voice,chat,code).
 *
 * The run itself is recorded once per task (`ctx.once`): a retried task returns the first run's result
 * instead of starting a second run over the same request. The agent does not depend on the task layer:
 * the context is described here by what the handler uses, and whoever wires the workers registers it:
 *
 *   const code = await createCodeHandler({ config, logger });
 *   if (code) handlers.register(CODE_TASK_KIND, CODE_CAPABILITY, code);
 */
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { createLanguageModel } from '../providers/factory.js';
import type { LanguageModel } from '../providers/types.js';
import { checkSandbox, createSandbox } from '../sandbox/factory.js';
import { resultJson, runCodeTask } from './code-task.js';

export const CODE_TASK_KIND = 'agent.code';
export const CODE_CAPABILITY = 'code';

export interface CodeTaskPayload {
  task: string;
  /** A project directory on the worker's machine, within its JUNE_AGENT_PROJECTS. */
  project?: string;
}

export interface CodeHandlerOptions {
  config: JuneConfig;
  logger: Logger;
  /** The language model; default: one created from the config on first use and kept. */
  model?: () => Promise<LanguageModel>;
}

/** What the handler uses of the task layer's handler context. */
export interface CodeHandlerContext {
  task: { payload: CodeTaskPayload };
  signal: AbortSignal;
  logger: Logger;
  reportProgress(stage: string, data?: unknown): Promise<void>;
  once<T>(step: string, fn: () => Promise<T>): Promise<T>;
}

export type CodeHandler = (ctx: CodeHandlerContext) => Promise<Record<string, unknown>>;

/** The handler, when the configured sandbox works here; undefined (and a log line) when it does not. */
export async function createCodeHandler(o: CodeHandlerOptions): Promise<CodeHandler | undefined> {
  const check = await checkSandbox(o.config.sandbox);
  if (!check.ok) {
    o.logger.warn(
      { sandbox: o.config.sandbox, detail: check.detail },
      'no working sandbox: not serving coding tasks',
    );
    return undefined;
  }
  if (check.warning) o.logger.warn(check.warning);
  let model: Promise<LanguageModel> | undefined;
  const getModel =
    o.model ??
    (() => {
      model ??= createLanguageModel(o.config, { logger: o.logger }).then(async (m) => {
        await m.load();
        return m;
      });
      return model;
    });
  const sandbox = createSandbox(o.config, o.logger);
  return async (ctx) => {
    const { task, project } = ctx.task.payload;
    if (typeof task !== 'string' || task.trim() === '') throw new Error('a code task needs a "task" string');
    return ctx.once('run', async () => {
      const result = await runCodeTask(o.config, {
        task,
        model: await getModel(),
        sandbox,
        logger: ctx.logger,
        signal: ctx.signal,
        ...(project ? { project } : {}),
        onProgress: (p) => void ctx.reportProgress(`step ${p.step}: ${p.activity}`, p).catch(() => undefined),
      });
      return resultJson(result);
    });
  };
}
