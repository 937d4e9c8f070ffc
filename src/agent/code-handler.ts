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
import { CancelledError, WorkerStoppingError } from '../util/errors.js';
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

/** A finished run, for the conversation of the chat it came from (see CodeHandlerOptions.record). */
export interface CodeRunRecord {
  /** The task's id: the conversation keeps the run under it, once. */
  taskId: string;
  target: CodeReplyTarget;
  /** What the run was asked to do. */
  task: string;
  /** The chat model delegated it: the user's words are in the conversation already. */
  delegated: boolean;
  /** The run's result (the `--json` object), or `{status: 'cancelled'}` for a run stopped before one. */
  result: Record<string, unknown>;
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
  /**
   * Keeps a finished run in the conversation of the chat it came from (the request, the summary, the
   * files changed), so the chat model knows afterwards what the run did. Called once per task, before the
   * reply is sent; the channel layer provides it.
   */
  record?: (r: CodeRunRecord) => Promise<void>;
}

/** What the handler uses of the task layer's handler context. */
export interface CodeHandlerContext {
  task: { id: string; payload: CodeTaskPayload };
  signal: AbortSignal;
  logger: Logger;
  reportProgress(stage: string, data?: unknown): Promise<void>;
  once<T>(step: string, fn: () => Promise<T>): Promise<T>;
}

export type CodeHandler = (ctx: CodeHandlerContext) => Promise<Record<string, unknown>>;

/**
 * Why a run's signal fired: the user cancelled it; its worker is shutting down (the task goes back to the
 * queue and runs again); or its lease was lost (another worker runs it now and owns its status message).
 */
function stopKind(signal: AbortSignal): 'cancelled' | 'interrupted' | 'lost' {
  const reason: unknown = signal.reason;
  if (reason instanceof WorkerStoppingError) return 'interrupted';
  if ((reason as { code?: unknown } | undefined)?.code === 'lease_lost') return 'lost';
  return 'cancelled';
}

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
    const { task, project, reply, spoke, language, delegated } = ctx.task.payload;
    if (typeof task !== 'string' || task.trim() === '') throw new Error('a code task needs a "task" string');
    const status =
      reply && o.status ? o.status({ target: reply, once: ctx.once, signal: ctx.signal }) : undefined;
    // the conversation keeps the run's outcome once, even if the reply that follows has to be retried.
    // A cancelled attempt has lost its lease by the time it gets here (no step can be recorded then), so
    // it records directly: the conversation itself keeps at most one message per task and role.
    const remember = async (result: Record<string, unknown>) => {
      if (!reply || !o.record) return;
      const record = o.record;
      const keep = () =>
        record({ taskId: ctx.task.id, target: reply, task, delegated: delegated === true, result });
      const kept = ctx.signal.aborted
        ? keep()
        : ctx.once('record', async () => {
            await keep();
            return true;
          });
      await kept.catch((err: unknown) =>
        ctx.logger.warn({ err: String(err) }, 'could not keep the coding run in the conversation'),
      );
    };
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
        // a run stopped because its worker is going away is not the run's result: nothing is recorded,
        // and the task runs again (on another worker, or after the restart)
        if (ctx.signal.aborted && stopKind(ctx.signal) !== 'cancelled') throw ctx.signal.reason;
        return resultJson(result);
      });
    } catch (err) {
      const kind = ctx.signal.aborted ? stopKind(ctx.signal) : 'failed';
      // a lost lease: another worker runs the task now and shows its state in the same message
      if (kind !== 'lost') await status?.finish({ status: kind });
      if (kind === 'cancelled') await remember({ status: 'cancelled' });
      throw err;
    }
    if (ctx.signal.aborted && stopKind(ctx.signal) !== 'cancelled') {
      // the recorded run is done, but this attempt stops here: the next one sends the rest
      if (stopKind(ctx.signal) === 'interrupted') await status?.finish({ status: 'interrupted' });
      throw ctx.signal.reason;
    }
    await status?.finish(json);
    await remember(json);
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
