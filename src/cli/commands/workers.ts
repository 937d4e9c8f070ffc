/** `june workers ls`: the workers that serve the task queue, what they run and how loaded they are. */
import type { Command } from 'commander';
import { formatWorkers } from '../../tasks/format.js';
import { defaultTaskIo, withQueue, type TaskCommandIo } from './tasks.js';

export function register(program: Command, io: TaskCommandIo = defaultTaskIo): void {
  const workers = program.command('workers').description('Workers registered with the task queue');
  workers
    .command('ls')
    .description('List workers: capabilities, load, running tasks, last heartbeat')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }) =>
      withQueue(io, async (q) => {
        const list = await q.listWorkers();
        io.out(opts.json ? JSON.stringify(list, null, 2) + '\n' : formatWorkers(list));
      }),
    );
}
