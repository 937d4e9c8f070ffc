/**
 * The `code` capability on the task backbone: a handler for `agent.code` tasks that runs the coding
 * agent, reporting each step as a progress event ("step 4: running: npm test"). It is registered only
 * where a sandbox backend works, so a worker advertises `code` only on machines that can run commands
 * safely; a worker with bubblewrap or Docker can then serve coding tasks for the whole deployment
 * (JUNE_WORKER_CAPABILITIES=voice,chat,code).
 *
 * The run itself is recorded once per task (`ctx.once`): a retried task returns the first run's result
 * instead of starting a second run over the same request. A task from a chat shows its steps there
 * (`status`, one edited message) and sends the result back (`reply`): both come from the channel layer. The agent does not depend on the task layer:
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
import { CancelledError } from '../util/errors.js';
import type { CodeReplyTarget, CodeTaskPayload } from './code-contract.js';
import { resultJson, runCodeTask } from './code-task.js';
import type { AgentProgress } from './types.js';

export { CODE_CAPABILITY, CODE_TASK_KIND, type CodeTaskPayload } from './code-contract.js';

/** What a finished run sends back to the chat it came from (see CodeHandlerOptions.reply). */
export interface CodeRunReply {
  target: CodeReplyTarget;
  result: Record<string, unknown>;
  /** The user spoke the request: the summary goes back as a voice note too. */
  spoke?: boolean;
  language?: string;
  once<T>(step: string, fn: () => Promise<T>): Promise<T>;
  signal: AbortSignal;
}

/** Where a run's progress is shown live (see CodeHandlerOptions.status). */
export interface CodeStatusTarget {
  target: CodeReplyTarget;
  once<T>(step: string, fn: () => Promise<T>): Promise<T>;
  signal: AbortSignal;
}

/** A run's live status in its chat: told every step, then the end (the result, or why there is none). */
export interface CodeRunStatus {
  progress(p: AgentProgress): void;
  /** The final state; resolves once it is shown (or could not be). Never throws. */
  finish(outcome: Record<string, unknown>): Promise<void>;
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
  /**
   * Shows a chat's run as it goes (one status message, edited): the channel layer provides it. Runs
   * without a chat to reply to have none.
   */
  status?: (s: CodeStatusTarget) => CodeRunStatus;
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
    const { task, project, reply, spoke, language } = ctx.task.payload;
    if (typeof task !== 'string' || task.trim() === '') throw new Error('a code task needs a "task" string');
    const status =
      reply && o.status ? o.status({ target: reply, once: ctx.once, signal: ctx.signal }) : undefined;
    let json: Record<string, unknown>;
    try {
      json = await ctx.once('run', async () => {
        const result = await runCodeTask(o.config, {
          task,
          model: await getModel(),
          sandbox,
          logger: ctx.logger,
          signal: ctx.signal,
          ...(project ? { project } : {}),
          onProgress: (p) => {
            void ctx.reportProgress(`step ${p.step}: ${p.activity}`, p).catch(() => undefined);
            status?.progress(p);
          },
        });
        return resultJson(result);
      });
    } catch (err) {
      await status?.finish({ status: ctx.signal.aborted ? 'cancelled' : 'failed' });
      throw err;
    }
    await status?.finish(json);
    // a cancelled task says so in its status line; it sends nothing more
    if (ctx.signal.aborted) throw new CancelledError('the coding task was cancelled');
    if (reply && o.reply)
      await o.reply({
        target: reply,
        result: json,
        ...(spoke ? { spoke } : {}),
        ...(language ? { language } : {}),
        once: ctx.once,
        signal: ctx.signal,
      });
    else if (reply)
      ctx.logger.warn({ channel: reply.channel }, 'no channel here to send the coding result to');
    return json;
  };
}
