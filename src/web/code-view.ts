/**
 * Coding runs (`agent.code` tasks) as the API shows them: the request's schema, the run's status and
 * result, and its steps read from the run directory (the trajectory and the per-step snapshots). The
 * worker and the web server share the data directory in a single-machine setup; when the run directory is
 * not here (a worker on another machine), only what the task record holds is shown, and the answer says
 * so (`local: false`).
 *
 * Only the agent's light modules are loaded here (the contract, the run directory and its git snapshots,
 * the trajectory reader), never the loop, the tools, the providers or the sandbox.
 */
import fs from 'node:fs';
import { z } from 'zod';
import type { CodeTaskPayload } from '../agent/code-contract.js';
import type { TrajectoryEvent } from '../agent/types.js';
import { openRunDir, runDiff, type RunDir } from '../agent/workspace.js';
import type { Task, TaskEvent } from '../tasks/types.js';
import { ConversationName, TaskError } from './schemas.js';

// ---------------------------------------------------------------- schemas

export const CodeRequest = z.object({
  task: z
    .string()
    .trim()
    .min(1, 'the task is empty: say what to build or fix')
    .max(20_000)
    .describe('What to do, in words, e.g. "write a script that renames my photos by date"'),
  project: z
    .string()
    .min(1)
    .max(4096)
    .optional()
    .describe(
      'A project directory on the worker machine, inside JUNE_AGENT_PROJECTS (admin tokens only). The agent ' +
        'works on a copy; the change comes back as a diff that `june code apply RUN` applies.',
    ),
  conversation: ConversationName.optional().describe('The web chat the run belongs to (default "default")'),
});

export const CodeLinks = z.object({
  self: z.string().describe('The run: GET /v1/code/{id}'),
  task: z.string().describe('The task: GET /v1/tasks/{id}'),
  events: z.string().describe('Server-Sent Events of the task: one `progress` event per step'),
  steps: z.string(),
  diff: z.string(),
  cancel: z.string(),
});

export const CodeAccepted = z.object({ taskId: z.string(), links: CodeLinks });

const Tokens = z.object({ prompt: z.number(), completion: z.number(), reasoning: z.number() });

export const CodeResult = z
  .looseObject({
    runId: z.string(),
    status: z
      .string()
      .describe('completed, max_steps, max_wall_time, max_tokens, stuck, format_errors, cancelled, failed'),
    answer: z.string().describe('The summary for the user, or why the run stopped'),
    steps: z.number().int(),
    toolCalls: z.number().int(),
    tokens: Tokens,
    diff: z.string().describe('Unified diff of everything the run changed'),
    trajectory: z.string().describe("The trajectory file's path on the worker"),
    timings: z.object({
      totalMs: z.number(),
      modelMs: z.number(),
      commandMs: z.number(),
      overheadMs: z.number(),
    }),
  })
  .describe('What `june code --json` prints');

export const CodeRunView = z.object({
  id: z.string().describe('The task id'),
  state: z.string().describe('The task state: queued, active, retrying, completed, dead, cancelled'),
  task: z.string(),
  project: z.string().optional(),
  runId: z.string().optional().describe('The run directory id, once the run has started'),
  step: z.number().int().optional().describe('The latest step'),
  activity: z.string().optional().describe('What the latest step does, e.g. "running: npm test"'),
  cancelRequested: z.boolean().optional(),
  error: TaskError.optional(),
  result: CodeResult.optional().describe('Once the task has completed'),
  links: CodeLinks,
});

const StepCall = z.object({
  id: z.string(),
  tool: z.string(),
  arguments: z.string().describe('The arguments as the model wrote them (capped)'),
  command: z.string().optional().describe('execute_command: the shell command'),
  path: z.string().optional().describe('File tools: the path'),
  ok: z.boolean().optional(),
  output: z.string().optional().describe('The observation the model got back (capped, head and tail)'),
  exitCode: z.number().int().optional(),
  wallMs: z.number().optional(),
  timedOut: z.boolean().optional(),
});

export const CodeStep = z.object({
  step: z.number().int(),
  activity: z.string().optional(),
  says: z.string().optional().describe('What the model wrote besides its tool calls (capped)'),
  error: z.string().optional().describe('A format error in the model reply'),
  calls: z.array(StepCall),
  snapshot: z.string().optional().describe('The snapshot commit, for steps that changed files'),
  diff: z.string().optional().describe("The step's own diff (capped)"),
  notes: z.array(z.string()).optional(),
});

export const CodeSteps = z.object({
  id: z.string(),
  state: z.string(),
  runId: z.string().optional(),
  local: z
    .boolean()
    .describe('Whether the run directory is on this server; if not, steps hold only the progress recorded'),
  note: z.string().optional(),
  steps: z.array(CodeStep),
  status: z.string().optional().describe('The run status once it has ended'),
  answer: z.string().optional(),
});

export const CodeCancelled = z.object({
  id: z.string(),
  state: z.string(),
  cancelRequested: z.boolean().describe('true: the run stops at its next heartbeat (a few seconds)'),
});

// ---------------------------------------------------------------- views

export const codeLinks = (id: string) => {
  const base = `/v1/code/${encodeURIComponent(id)}`;
  return {
    self: base,
    task: `/v1/tasks/${encodeURIComponent(id)}`,
    events: `/v1/tasks/${encodeURIComponent(id)}/events`,
    steps: `${base}/steps`,
    diff: `${base}/diff`,
    cancel: `${base}/cancel`,
  };
};

export function codePayload(task: Task): CodeTaskPayload {
  return task.payload as CodeTaskPayload;
}

interface StepProgress {
  step?: number;
  activity?: string;
  runId?: string;
}

const progressData = (data: unknown): StepProgress =>
  data && typeof data === 'object' ? (data as StepProgress) : {};

/** The run id: from the result once done, else from the latest progress report. */
export function runIdOf(task: Task): string | undefined {
  const r = task.result as { runId?: unknown } | undefined;
  if (typeof r?.runId === 'string') return r.runId;
  const p = progressData(task.progress?.data);
  return typeof p.runId === 'string' ? p.runId : undefined;
}

/** The run directory, when it is on this machine. */
export function localRun(dataDir: string, runId: string | undefined): RunDir | undefined {
  if (!runId) return undefined;
  try {
    return openRunDir(dataDir, runId);
  } catch {
    return undefined;
  }
}

/** Head and tail of a long text, the middle elided with a note. */
export function cap(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}\n… (${text.length - 2 * half} characters left out) …\n${text.slice(-half)}`;
}

/** The trajectory as written so far; a line being written as it is read is skipped. */
function readEvents(file: string): TrajectoryEvent[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: TrajectoryEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as TrajectoryEvent);
    } catch {
      // the last line, half written
    }
  }
  return out;
}

const OUTPUT_CHARS = 4000;
const DIFF_CHARS = 20_000;
const SAYS_CHARS = 2000;

/** Per-step diffs never change once their snapshot is committed: kept by commit id. */
const diffCache = new Map<string, string>();
const DIFF_CACHE_SIZE = 500;

async function stepDiff(run: RunDir, step: number, commit: string): Promise<string | undefined> {
  const key = `${run.id}:${commit}`;
  const hit = diffCache.get(key);
  if (hit !== undefined) return hit;
  const diff = await runDiff(run, step).catch(() => undefined);
  if (diff === undefined) return undefined;
  const capped = cap(diff, DIFF_CHARS);
  if (diffCache.size >= DIFF_CACHE_SIZE) diffCache.delete(diffCache.keys().next().value!);
  diffCache.set(key, capped);
  return capped;
}

function parseArgs(raw: string): Record<string, unknown> {
  try {
    const v = JSON.parse(raw) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The steps of a run read from its trajectory and snapshots, with the activity each step reported. */
export async function stepsFromRun(
  run: RunDir,
  progress: Map<number, string>,
): Promise<{ steps: z.output<typeof CodeStep>[]; status?: string; answer?: string }> {
  const steps = new Map<number, z.output<typeof CodeStep>>();
  const at = (n: number) => {
    let s = steps.get(n);
    if (!s) {
      s = { step: n, calls: [], ...(progress.has(n) ? { activity: progress.get(n)! } : {}) };
      steps.set(n, s);
    }
    return s;
  };
  let status: string | undefined;
  let answer: string | undefined;
  for (const e of readEvents(run.trajectory)) {
    if (e.type === 'model') {
      const s = at(e.step);
      if (e.content.trim()) s.says = cap(e.content.trim(), SAYS_CHARS);
      if (e.error) s.error = e.error;
      for (const c of e.toolCalls) {
        const args = parseArgs(c.arguments);
        s.calls.push({
          id: c.id,
          tool: c.name,
          arguments: cap(c.arguments, OUTPUT_CHARS),
          ...(typeof args.command === 'string' ? { command: args.command } : {}),
          ...(typeof args.path === 'string' ? { path: args.path } : {}),
        });
      }
    } else if (e.type === 'observation') {
      const s = at(e.step);
      let call = s.calls.find((c) => c.id === e.callId && c.output === undefined);
      if (!call) {
        call = { id: e.callId, tool: e.tool, arguments: '' };
        s.calls.push(call);
      }
      call.ok = e.ok;
      call.output = cap(e.content, OUTPUT_CHARS);
      if (e.sandbox) {
        call.exitCode = e.sandbox.exitCode;
        call.wallMs = Math.round(e.sandbox.wallMs);
        if (e.sandbox.timedOut) call.timedOut = true;
      }
    } else if (e.type === 'snapshot') {
      const s = at(e.step);
      s.snapshot = e.commit;
      const diff = await stepDiff(run, e.step, e.commit);
      if (diff !== undefined) s.diff = diff;
    } else if (e.type === 'note') {
      (at(e.step).notes ??= []).push(e.text);
    } else if (e.type === 'run_end') {
      status = e.status;
      answer = e.answer;
    }
  }
  // a step that has begun (its progress is recorded) but whose model reply is not written yet
  for (const [n] of progress) at(n);
  return {
    steps: [...steps.values()].filter((s) => s.step > 0).sort((a, b) => a.step - b.step),
    ...(status !== undefined ? { status } : {}),
    ...(answer !== undefined ? { answer } : {}),
  };
}

/** The latest activity of each step, from the task's progress events (of its latest attempt). */
export function progressByStep(timeline: readonly TaskEvent[], runId?: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const e of timeline) {
    if (e.type !== 'progress') continue;
    const p = progressData(e.data);
    if (typeof p.step !== 'number' || typeof p.activity !== 'string') continue;
    if (runId && p.runId !== undefined && p.runId !== runId) continue;
    out.set(p.step, p.activity);
  }
  return out;
}
