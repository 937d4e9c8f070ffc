/**
 * Produce and check ONE sample: the unit both the in-process run (run.ts) and the durable queue run
 * (queue-handlers.ts, one task per sample) call.
 *
 *   evaluateOne(ctx: SampleContext): Promise<SampleOutcome>      (shapes in types.ts)
 *     = checkProduced(ctx, await produceSample(ctx))
 *
 * The queue handler records produceSample's result once per task, so a sample re-run after a crash is
 * checked again without asking the model again.
 *
 * - samples: the given program is checked.
 * - completion: the plain model answers an EvalPlus-style instruct prompt; the program is sanitized out of
 *   the answer after the reasoning (sanitize.ts); the raw answer and the code are kept under outputs/.
 * - agent: the coding agent gets a fresh workspace holding only solution.py (the signature and docstring)
 *   and task.md, may write and run its own tests, and calls finish; solution.py is then checked. The hidden
 *   tests never enter its workspace. Its run (trajectory, snapshots) lies under agent/ in the run directory.
 *
 * A model or agent failure is a verdict ("error" with `generation_error`), never a thrown error (unless
 * `ctx.rethrow` asks for it); only a cancellation or a checker that cannot run throws.
 */
import fs from 'node:fs';
import path from 'node:path';
import { agentLimits } from '../agent/code-task.js';
import { estimateTokens } from '../agent/context.js';
import { runAgent } from '../agent/loop.js';
import { readTrajectory } from '../agent/trajectory.js';
import { createRunDir } from '../agent/workspace.js';
import type { JuneConfig } from '../config/schema.js';
import { collectChat, type LanguageModel } from '../providers/types.js';
import { createSandbox } from '../sandbox/factory.js';
import type { Verdict } from './checker.js';
import type { Problem } from './datasets.js';
import { EvalError } from './errors.js';
import { defaultSanitizer } from './sanitize.js';
import type { SampleContext, SampleMetrics, SampleOutcome, SampleVerdict, TokenMetrics } from './types.js';

export const INSTRUCTION =
  'Please provide a self-contained Python script that solves the following problem in a markdown code block:';

/** EvalPlus's instruct prompt: HumanEval's prompt, or MBPP's description with its first test. */
export function instructPrompt(problem: Problem): string {
  return `${INSTRUCTION}\n\`\`\`\n${problemText(problem).trim()}\n\`\`\`\n`;
}

/** The problem as EvalPlus states it: HumanEval's and MBPP+'s prompt field; for MBPP, description + first test. */
export function problemText(problem: Problem): string {
  if (problem.firstTest === undefined) return problem.prompt;
  return `"""\n${problem.prompt.trim()}\n${problem.firstTest.trim()}\n"""\n`;
}

/** Whether the model reasons before answering (it then gets evalThinkingMaxTokens). */
export function isThinkingModel(config: Pick<JuneConfig, 'evalThinking'>, model: string): boolean {
  if (config.evalThinking !== 'auto') return config.evalThinking === 'on';
  return /think|reason|qwq|(^|[^a-z])r1([^0-9]|$)/i.test(model);
}

/** Cost in dollars from the configured prices per million tokens; undefined when none is set. */
export function costOf(
  config: Pick<JuneConfig, 'evalPricePromptPerMTok' | 'evalPriceCompletionPerMTok'>,
  tokens: TokenMetrics,
): number | undefined {
  const p = config.evalPricePromptPerMTok;
  const c = config.evalPriceCompletionPerMTok;
  if (p === undefined && c === undefined) return undefined;
  return ((p ?? 0) * tokens.prompt + (c ?? 0) * tokens.completion) / 1e6;
}

/** A task id as a file name ("HumanEval/0" → "HumanEval_0"). */
export const taskFileName = (taskId: string): string => taskId.replace(/[^\w.-]+/g, '_');

/**
 * What producing a sample gave, before it is checked. Plain JSON: the queue handler records it once per
 * task (`ctx.once`), so a re-run after a crash checks the recorded program without asking the model again.
 */
export interface Produced {
  program?: string;
  error?: string;
  /** Producing the sample, end to end (0 for a given program). */
  wallMs: number;
  modelMs: number;
  tokens: TokenMetrics;
  steps: number;
  toolCalls: number;
  sandboxCpuMs: number;
  extra: Partial<SampleVerdict>;
  /** The model that answered (completion and agent modes). */
  model?: string;
}

type Generated = Omit<Produced, 'wallMs' | 'model'>;

const noTokens = (): TokenMetrics => ({ prompt: 0, completion: 0, reasoning: 0 });

export async function evaluateOne(ctx: SampleContext): Promise<SampleOutcome> {
  return checkProduced(ctx, await produceSample(ctx));
}

/** The first half of evaluateOne: the given program, the model's answer or the agent's solution. */
export async function produceSample(ctx: SampleContext): Promise<Produced> {
  const started = performance.now();
  ctx.signal?.throwIfAborted();
  if (ctx.mode === 'samples') {
    if (ctx.program === undefined) throw new EvalError('eval_bad_input', 'samples mode needs the program.');
    return {
      program: ctx.program,
      wallMs: 0,
      modelMs: 0,
      tokens: noTokens(),
      steps: 0,
      toolCalls: 0,
      sandboxCpuMs: 0,
      extra: {},
    };
  }
  if (!ctx.model)
    throw new EvalError('eval_bad_input', `--mode ${ctx.mode} needs a language model (none was given).`);
  const produced = ctx.mode === 'completion' ? await complete(ctx, ctx.model) : await agent(ctx, ctx.model);
  return { ...produced, wallMs: round(performance.now() - started), model: ctx.model.model };
}

/** The second half of evaluateOne: checks what was produced and adds the efficiency metrics. */
export async function checkProduced(ctx: SampleContext, produced: Produced): Promise<SampleOutcome> {
  const started = performance.now();
  ctx.signal?.throwIfAborted();
  let verdict: Verdict;
  let groundTruthCpuSeconds = 0;
  if (produced.program === undefined) {
    verdict = {
      task_id: ctx.problem.taskId,
      sample: ctx.sampleIndex,
      status: 'error',
      detail: { error: produced.error ?? 'nothing was produced' },
      wall_ms: 0,
      cpu_ms: 0,
    };
  } else {
    const checked = await ctx.checker.check({
      dataset: ctx.dataset,
      problem: ctx.problem,
      program: produced.program,
      sample: ctx.sampleIndex,
      ...(ctx.timeoutS !== undefined ? { timeoutS: ctx.timeoutS } : {}),
      ...(ctx.clock ? { clock: ctx.clock } : {}),
    });
    verdict = checked.verdict;
    groundTruthCpuSeconds = checked.groundTruthCpuSeconds;
  }
  const metrics: SampleMetrics = {
    wallMs: round(produced.wallMs + performance.now() - started),
    modelMs: round(produced.modelMs),
    tokens: produced.tokens,
    steps: produced.steps,
    toolCalls: produced.toolCalls,
    sandboxCpuMs: round(verdict.cpu_ms + produced.sandboxCpuMs),
  };
  const cost = costOf(ctx.config, produced.tokens);
  if (cost !== undefined) metrics.costUsd = cost;
  return {
    verdict: {
      ...verdict,
      mode: ctx.mode,
      metrics,
      ...produced.extra,
      ...(produced.error ? { generation_error: produced.error } : {}),
    },
    groundTruthCpuSeconds,
    ...(produced.program !== undefined ? { program: produced.program } : {}),
  };
}

// ---------------------------------------------------------------- completion mode

async function complete(ctx: SampleContext, model: LanguageModel): Promise<Generated> {
  const prompt = instructPrompt(ctx.problem);
  const thinking = isThinkingModel(ctx.config, model.model);
  const maxTokens = thinking ? ctx.config.evalThinkingMaxTokens : ctx.config.evalMaxTokens;
  const base = path.join('outputs', taskFileName(ctx.problem.taskId));
  fs.mkdirSync(path.join(ctx.runDir, base), { recursive: true });
  const answerFile = path.join(base, `${ctx.sampleIndex}.answer.json`);
  const codeFile = path.join(base, `${ctx.sampleIndex}.py`);
  const t0 = performance.now();
  let result;
  try {
    result = await collectChat(
      model.chatStream({
        messages: [{ role: 'user', content: prompt }],
        temperature: ctx.temperature ?? ctx.config.llmTemperature,
        maxTokens,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      }),
    );
  } catch (err) {
    ctx.signal?.throwIfAborted();
    if (ctx.rethrow?.(err)) throw err;
    const error = `the model failed: ${(err as Error).message}`;
    ctx.logger?.warn({ task: ctx.problem.taskId, sample: ctx.sampleIndex, err }, 'eval model call failed');
    return {
      error,
      modelMs: performance.now() - t0,
      tokens: noTokens(),
      steps: 1,
      toolCalls: 0,
      sandboxCpuMs: 0,
      extra: {},
    };
  }
  const modelMs = performance.now() - t0;
  const inlineThought = [...result.text.matchAll(/<think>([\s\S]*?)(<\/think>|$)/g)]
    .map((m) => m[1])
    .join('');
  const reasoningText = result.reasoning + inlineThought;
  const tokens: TokenMetrics = {
    prompt: result.usage?.promptTokens ?? estimateTokens(prompt),
    completion: result.usage?.completionTokens ?? estimateTokens(result.text + result.reasoning),
    reasoning: result.usage?.reasoningTokens ?? estimateTokens(reasoningText),
  };
  const sanitizer = ctx.sanitizer ?? defaultSanitizer();
  let code = '';
  let sanitizeCpu = 0;
  let sanitized: Record<string, unknown> = {};
  let error: string | undefined;
  try {
    const s = await sanitizer.sanitize(result.text, ctx.problem.entryPoint, ctx.signal);
    code = s.code;
    sanitizeCpu = s.cpuMs;
    sanitized = { source: s.source, blocks: s.blocks, hasEntryPoint: s.hasEntryPoint };
  } catch (err) {
    ctx.signal?.throwIfAborted();
    error = `the code could not be extracted: ${(err as Error).message}`;
  }
  fs.writeFileSync(
    path.join(ctx.runDir, answerFile),
    JSON.stringify(
      {
        task_id: ctx.problem.taskId,
        sample: ctx.sampleIndex,
        model: model.model,
        prompt,
        maxTokens,
        reasoning: result.reasoning,
        text: result.text,
        finishReason: result.finishReason,
        usage: result.usage ?? null,
        sanitized,
      },
      null,
      2,
    ) + '\n',
  );
  fs.writeFileSync(path.join(ctx.runDir, codeFile), code);
  return {
    ...(error ? { error } : { program: code }),
    modelMs,
    tokens,
    steps: 1,
    toolCalls: 0,
    sandboxCpuMs: sanitizeCpu,
    extra: { answer_file: answerFile, code_file: codeFile },
  };
}

// ---------------------------------------------------------------- agent mode

/** The starting solution.py: HumanEval's prompt (signature + docstring), or MBPP's statement as a comment. */
export function solutionStub(problem: Problem): string {
  if (problem.completionExtendsPrompt && problem.firstTest === undefined && /\bdef\s/.test(problem.prompt))
    return problem.prompt.endsWith('\n') ? problem.prompt : `${problem.prompt}\n`;
  const text = problemText(problem)
    .split('\n')
    .map((l) => `# ${l}`.trimEnd())
    .join('\n');
  return `${text}\n# Write the function \`${problem.entryPoint}\` here.\n`;
}

export function agentTask(problem: Problem): string {
  return [
    `Solve this Python programming problem in the file solution.py of the workspace.`,
    `solution.py holds the problem statement; implement the function \`${problem.entryPoint}\` there, keeping its name and signature.`,
    `The problem is also in task.md. You may write and run your own tests (put them in another file, e.g. test_solution.py, run with python3).`,
    `solution.py must be importable: no input(), no code that runs on import other than definitions.`,
    `When the implementation is done and checked, call finish.`,
  ].join('\n');
}

async function agent(ctx: SampleContext, model: LanguageModel): Promise<Generated> {
  const name = `${taskFileName(ctx.problem.taskId)}-${ctx.sampleIndex}`;
  const agentRoot = path.join(ctx.runDir, 'agent');
  // the starting workspace is prepared apart and copied in, so the run's first snapshot already holds it
  const seed = path.join(agentRoot, 'seeds', name);
  fs.mkdirSync(seed, { recursive: true });
  fs.writeFileSync(path.join(seed, 'solution.py'), solutionStub(ctx.problem));
  fs.writeFileSync(
    path.join(seed, 'task.md'),
    `# ${ctx.problem.taskId}\n\nImplement \`${ctx.problem.entryPoint}\` in solution.py.\n\n\`\`\`python\n${problemText(ctx.problem).trim()}\n\`\`\`\n`,
  );
  const task = agentTask(ctx.problem);
  const run = await createRunDir(agentRoot, task, { project: seed, allowedProjects: [seed] });
  const t0 = performance.now();
  let result;
  try {
    result = await runAgent({
      task,
      model,
      sandbox: ctx.sandbox ?? createSandbox(ctx.config, ctx.logger),
      run,
      limits: agentLimits(ctx.config),
      temperature: ctx.temperature ?? ctx.config.llmTemperature,
      ...(ctx.logger ? { logger: ctx.logger } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  } catch (err) {
    ctx.signal?.throwIfAborted();
    if (ctx.rethrow?.(err)) throw err;
    return {
      error: `the agent failed: ${(err as Error).message}`,
      modelMs: performance.now() - t0,
      tokens: noTokens(),
      steps: 0,
      toolCalls: 0,
      sandboxCpuMs: 0,
      extra: { trajectory: run.trajectory },
    };
  }
  ctx.signal?.throwIfAborted();
  let commandCpu = 0;
  try {
    for (const e of readTrajectory(result.trajectory))
      if (e.type === 'observation' && e.sandbox?.cpuMs) commandCpu += e.sandbox.cpuMs;
  } catch {
    // the trajectory is the agent's record; a missing one only loses this figure
  }
  const file = path.join(run.workspace, 'solution.py');
  const program = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  return {
    ...(program !== undefined ? { program } : { error: 'the agent left no solution.py' }),
    modelMs: result.timings.modelMs,
    tokens: { ...result.tokens },
    steps: result.steps,
    toolCalls: result.toolCalls,
    sandboxCpuMs: commandCpu,
    extra: { trajectory: result.trajectory, agent_status: result.status },
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
