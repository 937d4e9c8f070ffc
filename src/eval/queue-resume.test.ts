/**
 * Durable eval runs (queue-run.ts): `june eval run` killed with SIGKILL in the middle goes on where it
 * stopped when run again (finished samples keep their recorded verdicts and are not checked again), ends
 * with every sample exactly once in results.jsonl, and gives the summary of an uninterrupted run; and the
 * samples are checked by a separate `june worker` process serving `eval` when the CLI runs with
 * --no-worker. Real processes, the real SQLite queue and the real checker sandbox.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execJune, juneArgv, repoRoot } from '../../test/helpers/june-cli.js';
import { sqliteQueueFile } from '../tasks/open-queue.js';
import { openSqliteQueue } from '../tasks/sqlite/sqlite-queue.js';
import { eventually } from '../tasks/testing/eventually.js';
import type { Verdict } from './checker.js';
import { loadDataset } from './datasets.js';
import { readRunSpec } from './queue-run.js';
import type { EvalSummary } from './summary.js';
import { DATA_FILES, hasSharedData } from './test-data.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-eval-queue-'));
const dataDir = path.join(dir, 'data');
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: dir,
  JUNE_DATA_DIR: dataDir,
  JUNE_MODELS_DIR: path.join(dir, 'models'),
  JUNE_OFFLINE: 'true',
  // a killed run's samples in flight come back after their lease: short, so the test does not wait long
  JUNE_TASK_LEASE_MS: '2000',
};
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** HumanEval/0..5: the canonical solution (slowed down by a sleep at import) and a wrong answer each. */
function writeSamples(): string {
  const dataset = loadDataset('humaneval', DATA_FILES.humaneval);
  const rows = dataset.problems.slice(0, 6).flatMap((p) => [
    { task_id: p.taskId, solution: `import time\ntime.sleep(0.6)\n${p.reference}` },
    { task_id: p.taskId, solution: `def ${p.entryPoint}(*args):\n    return None\n` },
  ]);
  const file = path.join(dir, 'samples.jsonl');
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

const runArgs = (samples: string, out: string, extra: string[] = []) => [
  'eval',
  'run',
  '--dataset',
  'humaneval',
  '--problems',
  DATA_FILES.humaneval,
  '--samples',
  samples,
  '--out',
  out,
  '--json',
  ...extra,
];

function results(runDir: string): Verdict[] {
  return fs
    .readFileSync(path.join(runDir, 'results.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Verdict);
}

function lineCount(file: string): number {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

/** What must not depend on timing or on the run being interrupted. */
function stable(s: EvalSummary) {
  return {
    dataset: s.dataset,
    n: s.n,
    tasks: s.tasks,
    samples: s.samples,
    passAtK: s.passAtK,
    perTask: s.perTask,
    statusCounts: s.statusCounts,
  };
}

const expectedOrder = Array.from({ length: 6 }, (_, i) => [
  [`HumanEval/${i}`, 0],
  [`HumanEval/${i}`, 1],
]).flat();

describe.skipIf(!hasSharedData)('durable eval runs on the task queue', () => {
  it('resumes a run killed with SIGKILL: every sample once, the same summary as an uninterrupted run', async () => {
    const samples = writeSamples();
    const runDir = path.join(dir, 'killed');
    const first = spawn(process.execPath, juneArgv(runArgs(samples, runDir, ['--concurrency', '1'])), {
      cwd: dir,
      env,
    });
    children.push(first);
    let stderr = '';
    first.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // a few samples are checked (their live lines are in results.jsonl), then the process dies at once.
    // A sample's line is written just before its task is recorded as completed, and one slot runs one
    // sample after the other: four lines mean at least three completed samples, whatever the load.
    await eventually(
      async () => lineCount(path.join(runDir, 'results.jsonl')) >= 4 || undefined,
      'four verdicts before the kill',
      120_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${stderr}`);
    });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const firstWorker = `${os.hostname()}-${first.pid}-`;

    const id = readRunSpec(runDir)!.id;
    const queue = await openSqliteQueue({ file: sqliteQueueFile({ dataDir }) });
    const before = await queue.children(id);
    const doneBefore = before.filter((c) => c.state === 'completed').map((c) => c.id);
    expect(doneBefore.length).toBeGreaterThanOrEqual(3);
    expect(doneBefore.length).toBeLessThan(12);
    expect((await queue.get(id))!.task.state).toBe('waiting-children');
    await queue.close();

    // the same command again resumes the run
    const resumed = await execJune(runArgs(samples, runDir, ['--concurrency', '1']), {
      cwd: dir,
      env,
      timeoutMs: 300_000,
    });
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.stdout) as EvalSummary & { runDir: string };
    expect(summary.runDir).toBe(runDir);

    // every sample exactly once, in samples-file order
    const verdicts = results(runDir);
    expect(verdicts.map((v) => [v.task_id, v.sample])).toEqual(expectedOrder);
    // the canonical solutions pass; the wrong answers fail (or raise: `None` in arithmetic)
    expect(verdicts.map((v) => v.status === 'pass')).toEqual(expectedOrder.map((_, i) => i % 2 === 0));

    // the samples finished before the kill were not checked again: one attempt, by the first process
    const after = await openSqliteQueue({ file: sqliteQueueFile({ dataDir }) });
    try {
      expect((await after.get(id))!.task.state).toBe('completed');
      for (const child of doneBefore) {
        const d = (await after.get(child))!;
        expect(d.task.attempts, child).toBe(1);
        expect(d.task.workerId?.startsWith(firstWorker), child).toBe(true);
      }
      const all = await after.children(id);
      expect(all.every((c) => c.state === 'completed')).toBe(true);
    } finally {
      await after.close();
    }

    // an uninterrupted run of the same samples gives the same summary and verdicts
    const whole = await execJune(runArgs(samples, path.join(dir, 'whole')), {
      cwd: dir,
      env,
      timeoutMs: 300_000,
    });
    expect(whole.code, whole.stderr).toBe(0);
    const wholeSummary = JSON.parse(whole.stdout) as EvalSummary;
    expect(stable(summary)).toEqual(stable(wholeSummary));
    expect(wholeSummary.passAtK.base['pass@1']).toBeCloseTo(0.5, 12);
    expect(results(path.join(dir, 'whole')).map((v) => [v.task_id, v.sample, v.status])).toEqual(
      verdicts.map((v) => [v.task_id, v.sample, v.status]),
    );
    // the summary on disk is the one printed
    expect(
      stable(JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as EvalSummary),
    ).toEqual(stable(summary));
  }, 600_000);

  it('checks the samples on a separate `june worker` serving eval when the CLI runs with --no-worker', async () => {
    const samples = writeSamples();
    const worker = spawn(
      process.execPath,
      juneArgv(['worker', '--capabilities', 'eval', '--concurrency', '2']),
      { cwd: repoRoot, env: { ...env, JUNE_LOG_LEVEL: 'warn' } },
    );
    children.push(worker);
    let stderr = '';
    worker.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const runDir = path.join(dir, 'remote');
    const run = await execJune(
      runArgs(samples, runDir, ['--no-worker', '--tasks', 'HumanEval/1,HumanEval/3']),
      {
        cwd: dir,
        env,
        timeoutMs: 300_000,
      },
    );
    expect(run.code, `${run.stderr}\nworker: ${stderr}`).toBe(0);
    const summary = JSON.parse(run.stdout) as EvalSummary;
    expect(summary.perTask).toEqual({
      'HumanEval/1': { n: 2, base: 1 },
      'HumanEval/3': { n: 2, base: 1 },
    });
    const id = readRunSpec(runDir)!.id;
    const queue = await openSqliteQueue({ file: sqliteQueueFile({ dataDir }) });
    try {
      const workerPrefix = `${os.hostname()}-${worker.pid}-`;
      const parent = (await queue.get(id))!.task;
      expect(parent.workerId?.startsWith(workerPrefix)).toBe(true);
      for (const c of await queue.children(id)) {
        const d = (await queue.get(c.id))!.task;
        expect(d.capability).toBe('eval');
        expect(d.workerId?.startsWith(workerPrefix), c.id).toBe(true);
      }
    } finally {
      await queue.close();
    }
    worker.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => worker.once('exit', (c) => resolve(c)));
    expect(code, stderr).toBe(0);
  }, 600_000);
});
