/**
 * One sample at a time, in a sandbox that stays warm: the `eval.sample` task handler checks each sample
 * as its own task, so the per-run `checkSamples` (which starts a sandbox and closes it at the end) would
 * pay a sandbox start per sample. A WarmChecker keeps one checker sandbox per worker process and the
 * ground truths it computed (plus datasets) across samples and runs; it starts again after a crash.
 *
 * The checks, limits and verdicts are those of checker.ts's `checkSamples` (base asserts, then EvalPlus
 * differential tests when the base tests pass); the sandbox is the same, never weakened.
 */
import fs from 'node:fs';
import { datasetFile } from './dataset-cache.js';
import { loadDataset, type Dataset, type DatasetId, type Problem } from './datasets.js';
import type { Verdict } from './checker.js';
import { CheckerSandbox, type JobLimits, type JobResult, type LimitClock } from './sandbox-worker.js';
import type { JuneConfig } from '../config/schema.js';

export interface OneCheck {
  dataset: Dataset;
  problem: Problem;
  /** The whole program (prompt + completion, or the solution). */
  program: string;
  sample: number;
  timeoutS?: number;
  clock?: LimitClock;
  limits?: JobLimits;
}

export interface OneVerdict {
  verdict: Verdict;
  /** CPU seconds spent on this task's ground truth by this check (0 when it was cached). */
  groundTruthCpuSeconds: number;
}

/** Ground truths kept in the sandbox's memory at most; older ones are forgotten. */
const MAX_GROUND_TRUTHS = 64;

export class WarmChecker {
  private sandbox: CheckerSandbox | undefined;
  private groundTruths = new Map<string, Promise<JobResult>>();
  private readonly datasets = new Map<string, Promise<Dataset>>();
  private idleTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;

  /** @param idleMs the sandbox stops after this long without a check (it starts again on the next). */
  constructor(private readonly idleMs = 60_000) {}

  /** The dataset, loaded once per (id, file); the cached download when no file is given or it is absent. */
  dataset(config: Pick<JuneConfig, 'modelsDir' | 'offline'>, id: DatasetId, file?: string): Promise<Dataset> {
    const key = `${id}\0${file ?? ''}`;
    let d = this.datasets.get(key);
    if (!d) {
      d = (async () => {
        const found = file && fs.existsSync(file) ? file : await datasetFile(config, id);
        return loadDataset(id, found);
      })();
      d.catch(() => this.datasets.delete(key));
      this.datasets.set(key, d);
    }
    return d;
  }

  private box(): CheckerSandbox {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!this.sandbox) {
      this.sandbox = new CheckerSandbox();
      this.groundTruths = new Map();
    }
    return this.sandbox;
  }

  /** Runs a job; a sandbox that stopped (crash) is replaced for the next job. */
  private async run(job: Parameters<CheckerSandbox['run']>[0]): Promise<JobResult> {
    const box = this.box();
    try {
      return await box.run(job);
    } catch (err) {
      if (this.sandbox === box) {
        this.sandbox = undefined;
        void box.close();
      }
      throw err;
    }
  }

  /**
   * Samples share the sandbox's one user, so a hostile sample can SIGKILL the samples beside it; the
   * server never SIGKILLs a job before its deadline, so such a job is checked again once (as checkSamples).
   */
  private async runJob(job: Parameters<CheckerSandbox['run']>[0]): Promise<JobResult> {
    const first = await this.run(job);
    if (first.status !== 'error' || first.detail?.error !== 'killed by SIGKILL') return first;
    return this.run(job);
  }

  private groundTruth(
    dataset: Dataset,
    problem: Problem,
    clock: LimitClock,
    limits: JobLimits | undefined,
  ): { result: Promise<JobResult>; fresh: boolean } {
    const key = `${dataset.source.id}:${problem.taskId}`;
    const known = this.groundTruths.get(key);
    if (known) return { result: known, fresh: false };
    const plus = problem.plus!;
    const result = this.run({
      op: 'gt',
      clock,
      key,
      program: plus.groundTruth,
      entry: problem.entryPoint,
      record: plus.record,
      ...(plus.mbppNumber !== undefined ? { mbpp: plus.mbppNumber } : {}),
      wallS: 900,
      limits: { cpuSeconds: 600, ...limits },
    });
    result.catch(() => this.groundTruths.delete(key));
    this.groundTruths.set(key, result);
    if (this.groundTruths.size > MAX_GROUND_TRUTHS) {
      const oldest = this.groundTruths.keys().next().value!;
      this.groundTruths.delete(oldest);
      this.sandbox?.forget(oldest);
    }
    return { result, fresh: true };
  }

  async check(c: OneCheck): Promise<OneVerdict> {
    this.inFlight++;
    try {
      return await this.checkNow(c);
    } finally {
      if (--this.inFlight === 0 && this.sandbox) {
        this.idleTimer = setTimeout(() => void this.close(), this.idleMs);
        this.idleTimer.unref();
      }
    }
  }

  private async checkNow(c: OneCheck): Promise<OneVerdict> {
    const timeoutS = c.timeoutS ?? 3;
    const clock = c.clock ?? 'cpu';
    const { problem, program, limits } = c;
    const base = await this.runJob({
      op: 'check',
      kind: 'base',
      program: program + '\n' + problem.baseTest,
      timeoutS,
      clock,
      wallS: clock === 'wall' ? timeoutS + 1 : 5 * timeoutS + 5,
      limits: { cpuSeconds: timeoutS + 5, ...limits },
    });
    const v: Verdict = {
      task_id: problem.taskId,
      sample: c.sample,
      status: base.status,
      ...(base.detail ? { detail: base.detail } : {}),
      wall_ms: base.wallMs,
      cpu_ms: base.cpuMs,
      ...(base.maxRssKb !== undefined ? { max_rss_kb: base.maxRssKb } : {}),
      ...(base.output ? { output: base.output } : {}),
    };
    let gtCpu = 0;
    const plus = problem.plus;
    if (plus && base.status === 'pass') {
      const { result, fresh } = this.groundTruth(c.dataset, problem, clock, limits);
      const gt = await result;
      if (fresh) gtCpu = gt.cpuMs / 1000;
      if (gt.status !== 'pass' || !gt.times) {
        v.plus_status = 'error';
        v.plus_detail = { error: `ground truth failed: ${gt.detail?.error ?? gt.status}` };
      } else {
        const budget = gt.times.reduce((sum, t) => sum + Math.max(1, 4 * t), 0);
        const r = await this.runJob({
          op: 'check',
          kind: 'plus',
          clock,
          key: `${c.dataset.source.id}:${problem.taskId}`,
          program,
          entry: problem.entryPoint,
          atol: plus.atol,
          dataset: c.dataset.source.family,
          timeoutS,
          wallS: Math.min(3 * (timeoutS + budget) + 10, 900),
          limits: { cpuSeconds: Math.ceil(timeoutS + budget + 5), ...limits },
        });
        v.plus_status = r.status;
        if (r.detail) v.plus_detail = r.detail;
        v.wall_ms += r.wallMs;
        v.cpu_ms += r.cpuMs;
      }
    }
    return { verdict: v, groundTruthCpuSeconds: gtCpu };
  }

  async close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const box = this.sandbox;
    this.sandbox = undefined;
    this.groundTruths = new Map();
    await box?.close();
  }
}

/** Whether the checker's sandbox (bubblewrap, system Python) works on this machine: one trivial check. */
export async function checkerSandboxWorks(): Promise<{ ok: boolean; detail?: string }> {
  const box = new CheckerSandbox();
  try {
    const r = await box.run({
      op: 'check',
      kind: 'base',
      program: 'assert 1 + 1 == 2\n',
      timeoutS: 10,
      wallS: 60,
      clock: 'cpu',
    });
    return r.status === 'pass' ? { ok: true } : { ok: false, detail: r.detail?.error ?? r.status };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  } finally {
    await box.close();
  }
}
