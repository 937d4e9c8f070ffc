/**
 * `june eval compare RUN_A RUN_B`: which tasks newly fail or newly pass, the change in pass@k, and whether
 * the change is more than chance. Tasks are paired (the same problem in both runs); a task counts as solved
 * when at least half of its samples pass (with one sample: when it passes). The exact McNemar test looks
 * only at the discordant tasks: under "no difference", solved-in-A-only and solved-in-B-only are equally
 * likely, so their split is Binomial(b + c, 1/2); the two-sided p-value is the tail probability, doubled.
 */
import type { Verdict } from './checker.js';
import { plusPassed, type EvalSummary } from './summary.js';

/** Two-sided exact McNemar p-value for b and c discordant pairs. */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // P(X ≤ k) for X ~ Binomial(n, 1/2), summed in log space to stay exact enough for large n
  let logCoef = 0; // log C(n, 0)
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logCoef += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logCoef - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

export interface Comparison {
  metric: 'base' | 'plus';
  tasks: number;
  newlyPassing: string[];
  newlyFailing: string[];
  bothPass: number;
  bothFail: number;
  passAtKA: Record<string, number>;
  passAtKB: Record<string, number>;
  delta: Record<string, number>;
  pValue: number;
}

function solved(verdicts: Verdict[], metric: 'base' | 'plus'): Map<string, boolean> {
  const counts = new Map<string, { n: number; c: number }>();
  for (const v of verdicts) {
    const t = counts.get(v.task_id) ?? { n: 0, c: 0 };
    t.n++;
    if (metric === 'base' ? v.status === 'pass' : plusPassed(v)) t.c++;
    counts.set(v.task_id, t);
  }
  return new Map([...counts].map(([id, t]) => [id, t.c * 2 >= t.n && t.c > 0]));
}

export function compareRuns(
  a: { summary: EvalSummary; verdicts: Verdict[] },
  b: { summary: EvalSummary; verdicts: Verdict[] },
  metric: 'base' | 'plus' = 'base',
): Comparison {
  const sa = solved(a.verdicts, metric);
  const sb = solved(b.verdicts, metric);
  const newlyPassing: string[] = [];
  const newlyFailing: string[] = [];
  let bothPass = 0;
  let bothFail = 0;
  let tasks = 0;
  for (const [id, pa] of sa) {
    const pb = sb.get(id);
    if (pb === undefined) continue;
    tasks++;
    if (pa && pb) bothPass++;
    else if (!pa && !pb) bothFail++;
    else if (pb) newlyPassing.push(id);
    else newlyFailing.push(id);
  }
  const ka = (metric === 'base' ? a.summary.passAtK.base : a.summary.passAtK.plus) ?? {};
  const kb = (metric === 'base' ? b.summary.passAtK.base : b.summary.passAtK.plus) ?? {};
  const delta: Record<string, number> = {};
  for (const k of Object.keys(ka)) if (kb[k] !== undefined) delta[k] = kb[k] - ka[k]!;
  return {
    metric,
    tasks,
    newlyPassing,
    newlyFailing,
    bothPass,
    bothFail,
    passAtKA: ka,
    passAtKB: kb,
    delta,
    pValue: mcnemarExact(newlyFailing.length, newlyPassing.length),
  };
}
