/**
 * From per-sample verdicts to the run's summary: pass@k (base, and plus where the dataset has plus tests;
 * a sample passes "plus" only when it passes the base tests too, as EvalPlus counts it), per-task counts,
 * status counts and the checker's own cost per sample.
 */
import type { CheckRun, Verdict } from './checker.js';
import type { DatasetId } from './datasets.js';
import { meanPassAtK } from './pass-at-k.js';
import type { EvalMode, SampleVerdict } from './types.js';

export interface TaskSummary {
  n: number;
  base: number;
  plus?: number;
}

export interface EvalSummary {
  dataset: DatasetId;
  mode: EvalMode;
  /** Completion and agent modes: the model and the sampling temperature. */
  model?: string;
  temperature?: number;
  /** Completion and agent modes: what producing the samples cost (sums over the samples unless said). */
  efficiency?: Efficiency;
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

export interface Efficiency {
  /** Mean wall time of one problem: its samples produced and checked, summed. */
  wallSecondsPerProblem: number;
  /** Mean wall time of one sample, produced and checked. */
  wallSecondsPerSample: number;
  modelSeconds: number;
  tokens: { prompt: number; completion: number; reasoning: number };
  /** Mean tokens of one sample (prompt + completion). */
  tokensPerSample: number;
  steps: number;
  toolCalls: number;
  /** CPU seconds inside the sandboxes: checks, the sanitizer, the agent's commands (ground truth apart). */
  sandboxCpuSeconds: number;
  /** Only when prices are configured (evalPricePromptPerMTok / evalPriceCompletionPerMTok). */
  costUsd?: number;
}

/** Sums the per-sample metrics of the model and agent modes; undefined when no sample has any. */
export function efficiencyOf(verdicts: readonly SampleVerdict[]): Efficiency | undefined {
  const withMetrics = verdicts.filter((v) => v.metrics);
  if (withMetrics.length === 0) return undefined;
  const tokens = { prompt: 0, completion: 0, reasoning: 0 };
  let wallMs = 0;
  let modelMs = 0;
  let steps = 0;
  let toolCalls = 0;
  let cpuMs = 0;
  let cost: number | undefined;
  const problems = new Set<string>();
  for (const v of withMetrics) {
    const m = v.metrics!;
    problems.add(v.task_id);
    wallMs += m.wallMs;
    modelMs += m.modelMs;
    tokens.prompt += m.tokens.prompt;
    tokens.completion += m.tokens.completion;
    tokens.reasoning += m.tokens.reasoning;
    steps += m.steps;
    toolCalls += m.toolCalls;
    cpuMs += m.sandboxCpuMs;
    if (m.costUsd !== undefined) cost = (cost ?? 0) + m.costUsd;
  }
  const e: Efficiency = {
    wallSecondsPerProblem: round(wallMs / 1000 / problems.size, 3),
    wallSecondsPerSample: round(wallMs / 1000 / withMetrics.length, 3),
    modelSeconds: round(modelMs / 1000, 3),
    tokens,
    tokensPerSample: round((tokens.prompt + tokens.completion) / withMetrics.length, 1),
    steps,
    toolCalls,
    sandboxCpuSeconds: round(cpuMs / 1000, 3),
  };
  if (cost !== undefined) e.costUsd = round(cost, 6);
  return e;
}

export function plusPassed(v: Verdict): boolean {
  return v.status === 'pass' && v.plus_status === 'pass';
}

export function summarize(
  dataset: DatasetId,
  hasPlus: boolean,
  run: CheckRun,
  startedAt: string,
  extra: { mode?: EvalMode; model?: string; temperature?: number } = {},
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
    mode: extra.mode ?? 'samples',
    ...(extra.model !== undefined ? { model: extra.model } : {}),
    ...(extra.temperature !== undefined ? { temperature: extra.temperature } : {}),
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
  const efficiency = efficiencyOf(run.verdicts);
  if (efficiency) summary.efficiency = efficiency;
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
