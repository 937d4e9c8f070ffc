/**
 * From per-sample verdicts to the run's summary: pass@k (base, and plus where the dataset has plus tests;
 * a sample passes "plus" only when it passes the base tests too, as EvalPlus counts it), per-task counts,
 * status counts and the checker's own cost per sample.
 */
import type { CheckRun, Verdict } from './checker.js';
import type { DatasetId } from './datasets.js';
import { meanPassAtK } from './pass-at-k.js';

export interface TaskSummary {
  n: number;
  base: number;
  plus?: number;
}

export interface EvalSummary {
  dataset: DatasetId;
  mode: 'samples';
  /** Samples per task (the smallest, if tasks differ). */
  n: number;
  tasks: number;
  samples: number;
  passAtK: { base: Record<string, number>; plus?: Record<string, number> };
  perTask: Record<string, TaskSummary>;
  statusCounts: Record<string, number>;
  plusStatusCounts?: Record<string, number>;
  wallSeconds: number;
  concurrency: number;
  /** Mean wall and CPU time of one sample's check inside the sandbox, and the run's time per sample. */
  perSample: { checkWallMs: number; checkCpuMs: number; runMs: number };
  sandboxCpuSeconds: number;
  groundTruth?: { tasks: number; cpuSeconds: number };
  startedAt: string;
}

export function plusPassed(v: Verdict): boolean {
  return v.status === 'pass' && v.plus_status === 'pass';
}

export function summarize(
  dataset: DatasetId,
  hasPlus: boolean,
  run: CheckRun,
  startedAt: string,
): EvalSummary {
  const perTask: Record<string, TaskSummary> = {};
  const statusCounts: Record<string, number> = {};
  const plusStatusCounts: Record<string, number> = {};
  let wall = 0;
  let cpu = 0;
  for (const v of run.verdicts) {
    const t = (perTask[v.task_id] ??= hasPlus ? { n: 0, base: 0, plus: 0 } : { n: 0, base: 0 });
    t.n++;
    if (v.status === 'pass') t.base++;
    if (hasPlus && plusPassed(v)) t.plus = (t.plus ?? 0) + 1;
    statusCounts[v.status] = (statusCounts[v.status] ?? 0) + 1;
    if (hasPlus) {
      const ps = v.plus_status ?? 'not_run';
      plusStatusCounts[ps] = (plusStatusCounts[ps] ?? 0) + 1;
    }
    wall += v.wall_ms;
    cpu += v.cpu_ms;
  }
  const tasks = Object.values(perTask);
  const count = run.verdicts.length || 1;
  const summary: EvalSummary = {
    dataset,
    mode: 'samples',
    n: tasks.length ? Math.min(...tasks.map((t) => t.n)) : 0,
    tasks: tasks.length,
    samples: run.verdicts.length,
    passAtK: { base: meanPassAtK(tasks.map((t) => ({ n: t.n, c: t.base }))) },
    perTask,
    statusCounts,
    wallSeconds: round(run.wallSeconds, 3),
    concurrency: run.concurrency,
    perSample: {
      checkWallMs: round(wall / count, 2),
      checkCpuMs: round(cpu / count, 2),
      runMs: round((run.wallSeconds * 1000) / count, 2),
    },
    sandboxCpuSeconds: round(cpu / 1000 + run.groundTruth.cpuSeconds, 3),
    startedAt,
  };
  if (hasPlus) {
    summary.passAtK.plus = meanPassAtK(tasks.map((t) => ({ n: t.n, c: t.plus ?? 0 })));
    summary.plusStatusCounts = plusStatusCounts;
    summary.groundTruth = { tasks: run.groundTruth.tasks, cpuSeconds: round(run.groundTruth.cpuSeconds, 3) };
  }
  return summary;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
