/**
 * `june code "TASK" [--workspace DIR] [--json]`: runs the coding agent; `june code show RUN`,
 * `june code diff RUN [--step N]` and `june code apply RUN` review and apply a run afterwards.
 */
import type { Command } from 'commander';
import {
  CODE_CAPABILITY,
  CODE_TASK_KIND,
  createCodeHandler,
  type CodeHandlerOptions,
} from '../../agent/code-handler.js';
import { resultJson, runCodeTask } from '../../agent/code-task.js';
import { formatTrajectory, readTrajectory } from '../../agent/trajectory.js';
import { applyRun, openRunDir, runDiff } from '../../agent/workspace.js';
import type { JuneConfig } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import { createLanguageModel } from '../../providers/factory.js';
import type { HandlerRegistry } from '../../tasks/handlers.js';
import { cliContext } from '../context.js';

/**
 * For `june start` and `june worker`: serves the `code` capability when the worker is asked to
 * (JUNE_WORKER_CAPABILITIES includes code) and a sandbox backend works on this machine.
 */
export async function addCodeCapability(
  handlers: HandlerRegistry,
  config: JuneConfig,
  logger: Logger,
  hooks: Pick<CodeHandlerOptions, 'reply' | 'status' | 'record'> = {},
): Promise<void> {
  if (!config.workerCapabilities.includes(CODE_CAPABILITY)) return;
  const handler = await createCodeHandler({ config, logger, ...hooks });
  if (handler) handlers.register(CODE_TASK_KIND, CODE_CAPABILITY, handler);
}

export function register(program: Command): void {
  const code = program
    .command('code')
    .description('Let June do a coding task in a sandbox; show, diff and apply its runs')
    .argument('[task...]', 'what to do, in words')
    .option('-w, --workspace <dir>', 'work on a copy of this project (it must be in JUNE_AGENT_PROJECTS)')
    .option('--json', 'print {status, answer, steps, toolCalls, tokens, diff, trajectory, timings}')
    .action(async (words: string[], opts: { workspace?: string; json?: boolean }) => {
      const task = words.join(' ').trim();
      if (!task)
        throw new Error('nothing to do: give the task in words, e.g. june code "write a hello world script"');
      const { config, logger } = cliContext();
      const model = await createLanguageModel(config, { logger, progress: !opts.json });
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      try {
        await model.load();
        const result = await runCodeTask(config, {
          task,
          model,
          logger,
          signal: controller.signal,
          ...(opts.workspace ? { project: opts.workspace } : {}),
          onProgress: opts.json ? undefined : (p) => process.stderr.write(`step ${p.step}: ${p.activity}\n`),
        });
        if (opts.json) process.stdout.write(JSON.stringify(resultJson(result), null, 2) + '\n');
        else {
          process.stdout.write(`${result.answer}\n`);
          process.stderr.write(
            `\n${result.status} · run ${result.runId} · ${result.steps} steps · ${result.toolCalls} tool calls\n` +
              (result.diff ? `review: june code diff ${result.runId}` : 'no files changed') +
              (opts.workspace && result.diff ? ` · apply: june code apply ${result.runId}\n` : '\n'),
          );
        }
        if (result.status !== 'completed') process.exitCode = 1;
      } finally {
        process.off('SIGINT', onSigint);
        await model.close();
      }
    });

  code
    .command('show')
    .description("Print a run's trajectory readably")
    .argument('<run>', 'run id')
    .option('--json', 'the raw JSONL events')
    .action((id: string, opts: { json?: boolean }) => {
      const run = openRunDir(cliContext().config.dataDir, id);
      const events = readTrajectory(run.trajectory);
      process.stdout.write(
        opts.json ? events.map((e) => JSON.stringify(e)).join('\n') + '\n' : formatTrajectory(events) + '\n',
      );
    });

  code
    .command('diff')
    .description('The changes of a run, or of one step')
    .argument('<run>', 'run id')
    .option('-s, --step <n>', 'only this step')
    .action(async (id: string, opts: { step?: string }) => {
      const step = opts.step === undefined ? undefined : Number(opts.step);
      if (step !== undefined && (!Number.isInteger(step) || step < 0))
        throw new Error(`--step must be a step number, got "${opts.step}"`);
      const run = openRunDir(cliContext().config.dataDir, id);
      process.stdout.write(await runDiff(run, step));
    });

  code
    .command('apply')
    .description("Apply a run's changes to the project it worked on")
    .argument('<run>', 'run id')
    .action(async (id: string) => {
      const run = openRunDir(cliContext().config.dataDir, id);
      const { project, files } = await applyRun(run);
      process.stdout.write(
        files.length ? `applied to ${project}: ${files.join(', ')}\n` : 'nothing to apply\n',
      );
    });
}
