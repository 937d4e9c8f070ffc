/**
 * `june tasks`: see and steer the task queue. ls / show / watch / stats / add / cancel, a plan's task
 * tree (`june tasks tree ID`), and the dead letters: `june tasks dlq ls|redrive|purge`.
 */
import type { Command } from 'commander';
import { CHANNEL_TEXT_KIND } from '../../channels/turn-task.js';
import { formatEvent, formatStats, formatTaskDetail, formatTaskList } from '../../tasks/format.js';
import { planTree, PLAN_RUN_KIND } from '../../planner/index.js';
import { openTaskQueue } from '../../tasks/open-queue.js';
import { TASK_STATES, type TaskQueue, type TaskState } from '../../tasks/types.js';
import { JuneError } from '../../util/errors.js';
import { cliContext } from '../context.js';
import { CliUsageError } from '../usage-error.js';
import { formatPlanTree } from './tasks-tree.js';

/** Where a command writes and how it reaches the queue (tests pass their own queue). */
export interface TaskCommandIo {
  out(text: string): void;
  openQueue(): Promise<TaskQueue>;
  /** Resolves when `watch` should stop (default: SIGINT/SIGTERM). */
  untilStopped(): Promise<void>;
}

export const defaultTaskIo: TaskCommandIo = {
  out: (text) => process.stdout.write(text),
  openQueue: () => {
    const { config, logger } = cliContext();
    return openTaskQueue(config, { logger });
  },
  untilStopped: () =>
    new Promise((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }),
};

export async function withQueue<T>(io: TaskCommandIo, fn: (q: TaskQueue) => Promise<T>): Promise<T> {
  const queue = await io.openQueue();
  try {
    return await fn(queue);
  } finally {
    await queue.close();
  }
}

const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

function parseState(value: string): TaskState {
  if (!(TASK_STATES as readonly string[]).includes(value))
    throw new CliUsageError(`unknown state "${value}"; states: ${TASK_STATES.join(', ')}`);
  return value as TaskState;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new CliUsageError(`expected a positive whole number, got "${value}"`);
  return n;
}

interface TargetOpts {
  all?: boolean;
  capability?: string;
}

function deadTarget(
  id: string | undefined,
  opts: TargetOpts,
): { id: string } | { all: true; capability?: string } {
  if (id && opts.all) throw new CliUsageError('give a task id or --all, not both');
  if (id) return { id };
  if (!opts.all) throw new CliUsageError('give a task id, or --all (optionally with --capability)');
  return opts.capability ? { all: true, capability: opts.capability } : { all: true };
}

export function register(program: Command, io: TaskCommandIo = defaultTaskIo): void {
  const tasks = program.command('tasks').description('Inspect and manage queued, running and dead tasks');

  tasks
    .command('ls')
    .description('List tasks, newest first')
    .option('--state <state>', `only tasks in this state (${TASK_STATES.join(', ')})`, parseState)
    .option('--capability <name>', 'only tasks of this capability')
    .option('--limit <n>', 'at most this many', positiveInt, 50)
    .option('--json', 'print as JSON')
    .action((opts: { state?: TaskState; capability?: string; limit: number; json?: boolean }) =>
      withQueue(io, async (q) => {
        const list = await q.list({ state: opts.state, capability: opts.capability, limit: opts.limit });
        io.out(opts.json ? json(list) : formatTaskList(list));
      }),
    );

  tasks
    .command('show <id>')
    .description('One task: its attempts, progress, errors and workers')
    .option('--json', 'print as JSON')
    .action((id: string, opts: { json?: boolean }) =>
      withQueue(io, async (q) => {
        const detail = await q.get(id);
        if (!detail) throw new JuneError(`no task ${id}`, { code: 'task_not_found', retryable: false });
        io.out(opts.json ? json(detail) : formatTaskDetail(detail));
      }),
    );

  tasks
    .command('tree <id>')
    .description("A plan's task tree: its subtasks (state, capability, needs) and their workers' steps")
    .option('--steps <n>', 'latest steps shown per subtask', positiveInt, 5)
    .option('--json', 'print as JSON')
    .action((id: string, opts: { steps: number; json?: boolean }) =>
      withQueue(io, async (q) => {
        const detail = await q.get(id);
        if (!detail) throw new JuneError(`no task ${id}`, { code: 'task_not_found', retryable: false });
        if (detail.task.kind !== PLAN_RUN_KIND)
          throw new JuneError(`task ${id} is a ${detail.task.kind} task, not a plan`, {
            code: 'not_a_plan',
            retryable: false,
          });
        const tree = await planTree(q, id);
        if (!tree) throw new JuneError(`no task ${id}`, { code: 'task_not_found', retryable: false });
        io.out(opts.json ? json(tree) : formatPlanTree(tree, { steps: opts.steps }));
      }),
    );

  tasks
    .command('watch')
    .description('Follow task events live (Ctrl-C to stop)')
    .option('--capability <name>', 'only this capability')
    .option('--task <id>', 'only this task')
    .option('--json', 'one JSON object per line')
    .action((opts: { capability?: string; task?: string; json?: boolean }) =>
      withQueue(io, async (q) => {
        const sub = await q.subscribe(
          (e) => io.out(opts.json ? JSON.stringify(e) + '\n' : formatEvent(e) + '\n'),
          {
            capability: opts.capability,
            taskId: opts.task,
          },
        );
        await io.untilStopped();
        await sub.close();
      }),
    );

  tasks
    .command('stats')
    .description('Counts per capability: new, delayed, active, retrying, completed, dead')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }) =>
      withQueue(io, async (q) => {
        const stats = await q.stats();
        io.out(opts.json ? json(stats) : formatStats(stats));
      }),
    );

  tasks
    .command('add')
    .description('Enqueue a task by hand (for trying out workers)')
    .requiredOption('--kind <kind>', `task kind, e.g. ${CHANNEL_TEXT_KIND}`)
    .requiredOption('--capability <name>', 'capability that runs it, e.g. chat')
    .option('--payload <json>', 'payload as JSON', '{}')
    .option('--conversation <key>', 'conversation key (tasks of one conversation run in order)')
    .option('--idempotency-key <key>', 'the same key gives the same task')
    .action(
      (opts: {
        kind: string;
        capability: string;
        payload: string;
        conversation?: string;
        idempotencyKey?: string;
      }) =>
        withQueue(io, async (q) => {
          let payload: unknown;
          try {
            payload = JSON.parse(opts.payload);
          } catch (err) {
            throw new CliUsageError(`--payload is not JSON: ${(err as Error).message}`);
          }
          const id = await q.enqueue({
            kind: opts.kind,
            capability: opts.capability,
            payload,
            conversationKey: opts.conversation,
            idempotencyKey: opts.idempotencyKey,
          });
          io.out(`${id}\n`);
        }),
    );

  tasks
    .command('cancel <id>')
    .description('Cancel a task that has not finished (a running one stops at its next heartbeat)')
    .action((id: string) =>
      withQueue(io, async (q) => {
        const done = await q.cancel(id);
        io.out(done ? `cancelled ${id}\n` : `${id} is not waiting or running; nothing to cancel\n`);
      }),
    );

  const dlq = tasks.command('dlq').description('Dead letters: tasks that failed for good');

  dlq
    .command('ls')
    .description('List dead tasks with their last error')
    .option('--capability <name>', 'only this capability')
    .option('--limit <n>', 'at most this many', positiveInt, 50)
    .option('--json', 'print as JSON')
    .action((opts: { capability?: string; limit: number; json?: boolean }) =>
      withQueue(io, async (q) => {
        const dead = await q.listDead({ capability: opts.capability, limit: opts.limit });
        io.out(opts.json ? json(dead) : dead.length ? formatTaskList(dead) : 'no dead tasks\n');
      }),
    );

  dlq
    .command('redrive [id]')
    .description('Run dead tasks again with fresh attempts: one id, or --all [--capability C]')
    .option('--all', 'every dead task')
    .option('--capability <name>', 'with --all: only this capability')
    .action((id: string | undefined, opts: TargetOpts) =>
      withQueue(io, async (q) => {
        const n = await q.redrive(deadTarget(id, opts));
        io.out(`redriven: ${n}\n`);
      }),
    );

  dlq
    .command('purge [id]')
    .description('Delete dead tasks for good: one id, or --all [--capability C]')
    .option('--all', 'every dead task')
    .option('--capability <name>', 'with --all: only this capability')
    .action((id: string | undefined, opts: TargetOpts) =>
      withQueue(io, async (q) => {
        const n = await q.purgeDead(deadTarget(id, opts));
        io.out(`purged: ${n}\n`);
      }),
    );
}
