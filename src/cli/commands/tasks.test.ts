import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../observability/logger.js';
import { HandlerRegistry } from '../../tasks/handlers.js';
import { startWorkers, type WorkerPool } from '../../tasks/runtime.js';
import { openSqliteQueue } from '../../tasks/sqlite/sqlite-queue.js';
import { eventually } from '../../tasks/testing/eventually.js';
import { registerTestHandlers } from '../../tasks/testing/test-handlers.js';
import type { TaskQueue } from '../../tasks/types.js';
import * as tasks from './tasks.js';
import * as workers from './workers.js';

let dir: string;
let file: string;
let observer: TaskQueue;
let pool: WorkerPool | undefined;
let flakyFails = true;
let stopWatch: () => void = () => {};
/** Set once `june tasks watch` has subscribed and waits to be stopped. */
let watchSubscribed = false;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-tasks-cli-'));
  file = path.join(dir, 'tasks.db');
  observer = await openSqliteQueue({ file });
});
afterEach(async () => {
  await pool?.stop();
  pool = undefined;
});
afterAll(async () => {
  await observer.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `june <args>` with the task commands on the test database: `printed()` is what it has printed so
 * far, `done` everything once it returns.
 */
function juneLive(...args: string[]): { printed: () => string; done: Promise<string> } {
  let out = '';
  const io: tasks.TaskCommandIo = {
    out: (t) => (out += t),
    openQueue: () => openSqliteQueue({ file, pollMs: 20 }),
    untilStopped: () => {
      watchSubscribed = true;
      return new Promise((resolve) => (stopWatch = resolve));
    },
  };
  const program = new Command('june').exitOverride();
  tasks.register(program, io);
  workers.register(program, io);
  return { printed: () => out, done: program.parseAsync(['node', 'june', ...args]).then(() => out) };
}

/** Runs `june <args>`; returns what it printed. */
function june(...args: string[]): Promise<string> {
  return juneLive(...args).done;
}

async function startPool(): Promise<WorkerPool> {
  const registry = new HandlerRegistry();
  registerTestHandlers(registry, { flakyFails: () => flakyFails });
  const queue = await openSqliteQueue({ file, pollMs: 20, retryBaseMs: 50, leaseMs: 1000 });
  const p = await startWorkers({
    queue,
    registry,
    capabilities: ['chat'],
    concurrency: 2,
    leaseMs: 1000,
    logger: createLogger('silent'),
    metrics: false,
  });
  const stop = p.stop;
  pool = { ...p, stop: async () => (await stop(), await queue.close()) };
  return pool;
}

describe('june tasks / june workers', () => {
  it('adds, lists, shows and counts tasks', async () => {
    const id = (
      await june('tasks', 'add', '--kind', 'echo', '--capability', 'chat', '--payload', '{"n":1}')
    ).trim();
    expect(id).toMatch(/^chat-/);
    expect(await june('tasks', 'ls', '--state', 'queued')).toContain(id);
    expect(await june('tasks', 'show', id)).toMatch(/state\s+queued/);
    expect(await june('tasks', 'stats')).toMatch(/chat\s+1\s+0\s+0/);
    await startPool();
    await eventually(async () => (await observer.get(id))?.task.state === 'completed', 'completion');
    const shown = await june('tasks', 'show', id);
    expect(shown).toMatch(/#1 completed/);
    expect(shown).toContain('result      {"n":1}');
    await expect(june('tasks', 'ls', '--state', 'finished')).rejects.toThrow(/unknown state/);
  });

  it('shows a task that always fails in `dlq ls` after 3 attempts, and `dlq redrive` runs it again', async () => {
    flakyFails = true;
    await startPool();
    const id = (await june('tasks', 'add', '--kind', 'flaky', '--capability', 'chat')).trim();
    await eventually(async () => (await observer.get(id))?.task.state === 'dead', 'the task to die');
    const dead = await june('tasks', 'dlq', 'ls');
    expect(dead).toContain(id);
    expect(dead).toContain('3/3');
    expect(dead).toContain('flaky failure (attempt 3)');
    const shown = await june('tasks', 'show', id);
    expect(shown.match(/#\d failed/g)).toHaveLength(3);

    flakyFails = false;
    expect(await june('tasks', 'dlq', 'redrive', id)).toBe('redriven: 1\n');
    await eventually(async () => (await observer.get(id))?.task.state === 'completed', 'the redriven run');
    expect(await june('tasks', 'dlq', 'ls')).toBe('no dead tasks\n');
    await expect(june('tasks', 'dlq', 'purge')).rejects.toThrow(/--all/);
  });

  it('lists running workers with their load, and follows events live', async () => {
    const p = await startPool();
    const listed = await june('workers', 'ls');
    expect(listed).toContain(p.id);
    expect(listed).toMatch(/up\s+chat\s+0\/2/);

    watchSubscribed = false;
    const watching = juneLive('tasks', 'watch', '--capability', 'chat');
    await eventually(async () => watchSubscribed, 'the watch to subscribe');
    const id = (
      await june(
        'tasks',
        'add',
        '--kind',
        'stages',
        '--capability',
        'chat',
        '--payload',
        '{"stages":["stt","llm"]}',
      )
    ).trim();
    await eventually(
      async () => new RegExp(`completed\\s+${id}`).test(watching.printed()),
      'the watch to show the completion',
    );
    stopWatch();
    const watched = await watching.done;
    expect(watched).toMatch(new RegExp(`progress\\s+${id}\\s+attempt 1 .*stage stt`));
    expect(watched).toMatch(new RegExp(`completed\\s+${id}`));
  });
});
