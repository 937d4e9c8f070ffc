/**
 * The planner's own subtask handlers:
 *  - `plan.chat` (capability chat): one model answer from the instructions, the inputs and the results of
 *    the subtasks it needs;
 *  - `plan.code` (capability code): the coding agent (src/agent's loop, sandbox and run directory) in a
 *    workspace that belongs to the task tree (`<dataDir>/planner/trees/<root>/work/<subtask>`, removed when
 *    the tree ends or the subtask is cancelled). It never delivers to a chat: the root composes the answer.
 *    The files it changed are copied out of the workspace (`files/<subtask>`) for the answer.
 * Each run is recorded with `ctx.once`, so a re-run after a crash returns the first run's result. A subtask
 * whose tree was cancelled, or whose tree's time is up, does not start.
 * `plan.code` is registered only where a sandbox works, like `agent.code`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createCodeHandler } from '../agent/code-handler.js';
import { runCodeTask } from '../agent/code-task.js';
import { runsRoot } from '../agent/workspace.js';
import type { HandlerContext, HandlerRegistry } from '../tasks/handlers.js';
import { CancelledError, JuneError } from '../util/errors.js';
import {
  PLAN_CHAT_CAPABILITY,
  PLAN_CHAT_KIND,
  PLAN_CODE_CAPABILITY,
  PLAN_CODE_KIND,
  type SubtaskFile,
  type SubtaskPayload,
  type SubtaskResult,
} from './contract.js';
import { modelGetter, treeFilesDir, treeWorkDir, type PlannerDeps } from './deps.js';
import { answerSubtask, subtaskPrompt } from './model.js';

const MAX_FILES = 20;
const MAX_FILE_BYTES = 5 * 1024 * 1024;

export type SubtaskDeps = Omit<PlannerDeps, 'pollMs'>;

/**
 * Registers plan.chat, and plan.code where the configured sandbox works. Returns the kinds registered.
 */
export async function registerPlanSubtaskHandlers(
  registry: HandlerRegistry,
  deps: SubtaskDeps,
): Promise<string[]> {
  const getModel = modelGetter(deps);
  const kinds: string[] = [];
  registry.register<SubtaskPayload, SubtaskResult>(PLAN_CHAT_KIND, PLAN_CHAT_CAPABILITY, async (ctx) => {
    const p = payloadOf(ctx);
    await startGuard(deps, ctx, p);
    return ctx.once('answer', async () => {
      await ctx.reportProgress('step', { step: 1, activity: 'writing the answer' });
      const { text, usage } = await answerSubtask({
        llm: await getModel(),
        instructions: p.instructions,
        inputs: p.inputs,
        needs: p.needs,
        signal: ctx.signal,
        maxTokens: Math.min(deps.config.llmMaxTokens, p.maxTokens ?? Number.MAX_SAFE_INTEGER),
        temperature: deps.config.llmTemperature,
      });
      return { text, tokens: usage };
    });
  });
  kinds.push(PLAN_CHAT_KIND);

  // the agent's own check of the configured sandbox: without a working one, no code subtasks here either
  if (!(await createCodeHandler({ config: deps.config, logger: deps.logger, model: getModel }))) return kinds;
  registry.register<SubtaskPayload, SubtaskResult>(PLAN_CODE_KIND, PLAN_CODE_CAPABILITY, async (ctx) => {
    const p = payloadOf(ctx);
    await startGuard(deps, ctx, p);
    const workDir = treeWorkDir(deps.config.dataDir, p.treeId, p.subtaskId);
    let outcome: { result: SubtaskResult; status: string };
    try {
      outcome = await ctx.once('run', async () => {
        const task = subtaskPrompt(p);
        // the run directory goes under the tree's work directory; the tree's limits bound the agent's
        const config = {
          ...deps.config,
          dataDir: workDir,
          ...(p.maxTokens !== undefined
            ? { agentMaxTokens: Math.max(1000, Math.min(deps.config.agentMaxTokens, p.maxTokens)) }
            : {}),
          ...(p.deadlineAt !== undefined
            ? {
                agentMaxWallMs: Math.max(
                  1000,
                  Math.min(deps.config.agentMaxWallMs, p.deadlineAt - Date.now()),
                ),
              }
            : {}),
        };
        const r = await runCodeTask(config, {
          task,
          model: await getModel(),
          logger: ctx.logger,
          signal: ctx.signal,
          onProgress: (pr) =>
            void ctx.reportProgress('step', { step: pr.step, activity: pr.activity }).catch(() => undefined),
        });
        const workspace = path.join(runsRoot(workDir), r.runId, 'workspace');
        const files = copyChangedFiles(
          r.diff,
          workspace,
          treeFilesDir(deps.config.dataDir, p.treeId, p.subtaskId),
        );
        return {
          status: r.status,
          result: {
            text: r.answer,
            ...(files.length > 0 ? { files } : {}),
            notes: [`coding agent: ${r.status} after ${r.steps} steps`],
            tokens: { prompt: r.tokens.prompt, completion: r.tokens.completion + r.tokens.reasoning },
          },
        };
      });
    } catch (err) {
      if (ctx.signal.aborted) fs.rmSync(workDir, { recursive: true, force: true });
      throw err;
    }
    if (ctx.signal.aborted || outcome.status === 'cancelled') {
      fs.rmSync(workDir, { recursive: true, force: true });
      throw new CancelledError('the code subtask was cancelled');
    }
    if (outcome.status !== 'completed')
      throw new JuneError(`the coding agent stopped: ${outcome.status}: ${outcome.result.text}`, {
        code: 'plan_code_failed',
        retryable: false,
        userMessage: `The coding step did not finish (${outcome.status.replace(/_/g, ' ')}): ${outcome.result.text}`,
      });
    return outcome.result;
  });
  kinds.push(PLAN_CODE_KIND);
  return kinds;
}

function payloadOf(ctx: HandlerContext<SubtaskPayload>): SubtaskPayload {
  const p = ctx.task.payload as Partial<SubtaskPayload> | undefined;
  if (
    !p ||
    typeof p.treeId !== 'string' ||
    typeof p.subtaskId !== 'string' ||
    typeof p.instructions !== 'string'
  )
    throw new JuneError('a plan subtask needs treeId, subtaskId and instructions', { code: 'task_invalid' });
  return { inputs: {}, needs: [], ...p } as SubtaskPayload;
}

/** A subtask of a cancelled tree, or past the tree's time limit, does not start. */
async function startGuard(
  deps: SubtaskDeps,
  ctx: HandlerContext<SubtaskPayload>,
  p: SubtaskPayload,
): Promise<void> {
  const root = await deps.queue.get(p.treeId);
  if (root && (root.task.state === 'cancelled' || root.task.cancelRequested))
    throw new CancelledError('the task tree was cancelled');
  if (p.deadlineAt !== undefined && Date.now() > p.deadlineAt)
    throw new JuneError('the task tree ran out of time before this subtask started', {
      code: 'plan_time_limit',
      retryable: false,
      userMessage: 'The task ran out of time before this step started.',
    });
  if (ctx.signal.aborted) throw new CancelledError('the subtask was stopped');
}

/** Files the diff adds or changes, copied out of the workspace (bounded), as the subtask's files. */
export function copyChangedFiles(diff: string, workspace: string, outDir: string): SubtaskFile[] {
  const names = new Set<string>();
  for (const m of diff.matchAll(/^\+\+\+ b\/(.+)$/gm)) names.add(m[1]!);
  const files: SubtaskFile[] = [];
  for (const name of names) {
    if (files.length >= MAX_FILES) break;
    const src = path.join(workspace, name);
    const rel = path.relative(workspace, src);
    if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(src);
    } catch {
      continue;
    }
    if (!st.isFile() || st.size > MAX_FILE_BYTES) continue;
    const dest = path.join(outDir, rel);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(src, dest);
    files.push({ name: rel, path: dest });
  }
  return files;
}
