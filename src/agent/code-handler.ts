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
import type { CodeReplyTarget, CodeTaskPayload } from './code-contract.js';
import { resultJson, runCodeTask } from './code-task.js';

export { CODE_CAPABILITY, CODE_TASK_KIND, type CodeTaskPayload } from './code-contract.js';

/** What a finished run sends back to the chat it came from (see CodeHandlerOptions.reply). */
export interface CodeRunReply {
  target: CodeReplyTarget;
  result: Record<string, unknown>;
  once<T>(step: string, fn: () => Promise<T>): Promise<T>;
  signal: AbortSignal;
}

export interface CodeHandlerOptions {
  config: JuneConfig;
  logger: Logger;
  /** The language model; default: one created from the config on first use and kept. */
  model?: () => Promise<LanguageModel>;
  /**
   * Sends the result to the chat a task came from (`payload.reply`): the channel layer provides it where
   * adapters exist. Without it, such a task's result is only recorded.
   */
  reply?: (r: CodeRunReply) => Promise<void>;
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
    const { task, project, reply } = ctx.task.payload;
    if (typeof task !== 'string' || task.trim() === '') throw new Error('a code task needs a "task" string');
    const json = await ctx.once('run', async () => {
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
    if (reply && o.reply) await o.reply({ target: reply, result: json, once: ctx.once, signal: ctx.signal });
    else if (reply)
      ctx.logger.warn({ channel: reply.channel }, 'no channel here to send the coding result to');
    return json;
  };
}
