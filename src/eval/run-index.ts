/**
 * The eval runs a June instance knows, for the HTTP API and the web page: the run directories under
 * `<dataDir>/evals` that hold a run.json (written when a run is submitted to the queue), with their state
 * from the task queue while its records last, and from summary.json after (finished tasks are purged).
 * Also one sample's detail for review: the problem's prompt, the program checked, the verdict, and the
 * model's answer and the agent's trajectory where the run wrote them.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JuneConfig } from '../config/schema.js';
import { childTaskId } from '../tasks/ids.js';
import { FINAL_STATES, type TaskQueue } from '../tasks/types.js';
import type { Verdict } from './checker.js';
import { datasetFile } from './dataset-cache.js';
import { loadDataset, type Dataset, type DatasetId } from './datasets.js';
import {
  childVerdict,
  EVAL_CAPABILITY,
  evalRunStatus,
  readRunSpec,
  runSummary,
  type EvalRunPayload,
  type EvalRunSpec,
  type EvalRunStatus,
  type EvalSamplePayload,
  type EvalSampleResult,
} from './queue-run.js';
import { loadRun } from './run.js';
import type { EvalSummary } from './summary.js';

export function evalsDir(config: Pick<JuneConfig, 'dataDir'>): string {
  return path.join(config.dataDir, 'evals');
}

type RunRecord = EvalRunSpec & { id: string };

/** Run directories with a run.json, newest first. */
export function listRunRecords(config: Pick<JuneConfig, 'dataDir'>, limit = 100): RunRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(evalsDir(config));
  } catch {
    return [];
  }
  const records: RunRecord[] = [];
  for (const name of names) {
    const spec = readRunSpec(path.join(evalsDir(config), name));
    if (spec?.id) records.push(spec);
  }
  records.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  return records.slice(0, limit);
}

export function findRunRecord(config: Pick<JuneConfig, 'dataDir'>, id: string): RunRecord | undefined {
  return listRunRecords(config, Number.MAX_SAFE_INTEGER).find((r) => r.id === id);
}

/** A run's status: live from the queue, or from its files once its tasks are gone. */
export async function runStatus(
  config: Pick<JuneConfig, 'dataDir'>,
  queue: TaskQueue,
  id: string,
): Promise<EvalRunStatus | undefined> {
  const live = await evalRunStatus(queue, id).catch(() => undefined);
  if (live) return live;
  const record = findRunRecord(config, id);
  if (!record) return undefined;
  let summary: EvalSummary | undefined;
  try {
    summary = loadRun(record.runDir).summary;
  } catch {
    summary = undefined;
  }
  const passed = summary ? (summary.statusCounts.pass ?? 0) : 0;
  const total = summary?.samples ?? 0;
  return {
    id,
    // a run whose records are gone without a summary was cancelled or lost with its queue
    state: summary ? 'completed' : 'cancelled',
    dataset: record.dataset,
    mode: record.mode,
    runDir: record.runDir,
    startedAt: record.startedAt,
    total,
    done: total,
    passed,
    failed: total - passed,
    states: summary ? { completed: total } : {},
    ...(summary ? { summary } : {}),
  };
}

export interface SampleRow {
  index: number;
  task_id: string;
  sample: number;
  /** The child task's state ('completed' for a finished run read from its files). */
  state: string;
  verdict?: Verdict;
}

/** Every sample of a run in samples-file order, with its verdict once checked. */
export async function runSamples(
  config: Pick<JuneConfig, 'dataDir'>,
  queue: TaskQueue,
  id: string,
): Promise<SampleRow[] | undefined> {
  const detail = await queue.get(id).catch(() => undefined);
  if (detail) {
    const payload = detail.task.payload as EvalRunPayload;
    const children = await queue.children(id);
    const byId = new Map(children.map((c) => [c.id, c]));
    return payload.samples.map(([taskId, sample], index) => {
      const c = byId.get(childTaskId(id, EVAL_CAPABILITY, index));
      const verdict = c ? childVerdict(c, taskId, sample) : undefined;
      return { index, task_id: taskId, sample, state: c?.state ?? 'queued', ...(verdict ? { verdict } : {}) };
    });
  }
  const record = findRunRecord(config, id);
  if (!record) return undefined;
  try {
    return loadRun(record.runDir).verdicts.map((v, index) => ({
      index,
      task_id: v.task_id,
      sample: v.sample,
      state: 'completed',
      verdict: v,
    }));
  } catch {
    return [];
  }
}

/** The summary so far (a running run's samples checked until now) and the verdicts, for the report. */
export async function reportData(
  config: Pick<JuneConfig, 'dataDir'>,
  queue: TaskQueue,
  id: string,
): Promise<{ summary: EvalSummary; verdicts: Verdict[] } | undefined> {
  const detail = await queue.get(id).catch(() => undefined);
  if (detail) {
    const payload = detail.task.payload as EvalRunPayload;
    return runSummary(payload, await queue.children(id), detail.task.finishedAt ?? Date.now());
  }
  const record = findRunRecord(config, id);
  if (!record) return undefined;
  try {
    const { summary, verdicts } = loadRun(record.runDir);
    return { summary, verdicts };
  } catch {
    return undefined;
  }
}

const datasets = new Map<string, Promise<Dataset>>();

async function dataset(config: Pick<JuneConfig, 'modelsDir' | 'offline'>, id: DatasetId, file?: string) {
  const key = `${id}\0${file ?? ''}`;
  let d = datasets.get(key);
  if (!d) {
    d = (async () => loadDataset(id, file && fs.existsSync(file) ? file : await datasetFile(config, id)))();
    d.catch(() => datasets.delete(key));
    datasets.set(key, d);
  }
  return d;
}

/** Reads a file the run wrote, only inside the run directory, at most `max` bytes. */
function readInRun(runDir: string, file: string | undefined, max = 512 * 1024): string | undefined {
  if (!file) return undefined;
  const full = path.resolve(runDir, file);
  try {
    const real = fs.realpathSync(full);
    const root = fs.realpathSync(runDir);
    if (real !== root && !real.startsWith(root + path.sep)) return undefined;
    const fd = fs.openSync(real, 'r');
    try {
      const buf = Buffer.alloc(Math.min(max, fs.fstatSync(fd).size));
      fs.readSync(fd, buf, 0, buf.length, 0);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** A model answer split into its reasoning (`<think>…</think>`) and what follows. */
export function splitReasoning(answer: string): { reasoning?: string; answer: string } {
  const m = /^\s*<think>([\s\S]*?)(?:<\/think>|$)([\s\S]*)$/.exec(answer);
  if (!m) return { answer };
  return { reasoning: m[1]!.trim(), answer: m[2]!.trim() };
}

export interface SampleDetail {
  index: number;
  task_id: string;
  sample: number;
  state: string;
  prompt?: string;
  program?: string;
  verdict?: Verdict;
  answer?: string;
  reasoning?: string;
  /** The agent's steps (trajectory.jsonl), when the run has one for this sample. */
  trajectory?: unknown[];
}

export async function sampleDetail(
  config: Pick<JuneConfig, 'dataDir' | 'modelsDir' | 'offline'>,
  queue: TaskQueue,
  id: string,
  index: number,
): Promise<SampleDetail | undefined> {
  const rows = await runSamples(config, queue, id);
  const row = rows?.[index];
  if (!row) return undefined;
  const status = await runStatus(config, queue, id);
  const runDir = status?.runDir;
  const spec = runDir ? readRunSpec(runDir) : undefined;
  let program: string | undefined;
  const child = await queue.get(childTaskId(id, EVAL_CAPABILITY, index)).catch(() => undefined);
  // a given program is in the payload; a produced one (model modes) in the result
  if (child)
    program =
      (child.task.payload as EvalSamplePayload).program ??
      (child.task.result as EvalSampleResult | undefined)?.program;
  else if (runDir) {
    const line = readInRun(runDir, 'samples.jsonl', 64 * 1024 * 1024)?.split('\n')[index];
    if (line) program = (JSON.parse(line) as { solution?: string }).solution;
  }
  let prompt: string | undefined;
  if (status) {
    const d = await dataset(config, status.dataset, spec?.problemsFile).catch(() => undefined);
    prompt = d?.byId.get(row.task_id)?.prompt;
  }
  const v = row.verdict as (Verdict & { answer_file?: string; trajectory?: string }) | undefined;
  const out: SampleDetail = {
    index,
    task_id: row.task_id,
    sample: row.sample,
    state: row.state,
    ...(prompt !== undefined ? { prompt } : {}),
    ...(program !== undefined ? { program } : {}),
    ...(v ? { verdict: v } : {}),
  };
  if (runDir && v?.answer_file) {
    const raw = readInRun(runDir, v.answer_file);
    if (raw !== undefined) Object.assign(out, splitReasoning(raw));
  }
  if (runDir && v?.trajectory) {
    const text = readInRun(runDir, v.trajectory, 4 * 1024 * 1024);
    if (text !== undefined)
      out.trajectory = text
        .split('\n')
        .filter((l) => l.trim())
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as unknown];
          } catch {
            return [];
          }
        });
  }
  return out;
}

export function isFinal(state: string): boolean {
  return FINAL_STATES.has(state as never);
}
