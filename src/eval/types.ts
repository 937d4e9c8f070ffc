/**
 * The shapes of one evaluated sample, shared by the in-process CLI run (run.ts) and the durable queue run
 * (queue-run.ts): both call the one unit in sample-unit.ts,
 *
 *   evaluateOne(ctx: SampleContext): Promise<SampleOutcome>
 *
 * which produces the sample (given program, the plain model's answer, or a coding-agent run), checks it
 * with `ctx.checker` (the warm sandbox), writes what it produced under `ctx.runDir` (outputs/, agent/),
 * and returns the verdict with its efficiency metrics. It never throws for a bad answer: a model or agent
 * failure is a verdict with status "error" and `generation_error`; it throws only when cancelled or when
 * the checker itself cannot run.
 */
import type { Logger } from '../observability/logger.js';
import type { JuneConfig } from '../config/schema.js';
import type { LanguageModel } from '../providers/types.js';
import type { Sandbox } from '../sandbox/types.js';
import type { Verdict } from './checker.js';
import type { Dataset, Problem } from './datasets.js';
import type { JobLimits, LimitClock } from './sandbox-worker.js';

export type EvalMode = 'samples' | 'completion' | 'agent';
export const EVAL_MODES: readonly EvalMode[] = ['samples', 'completion', 'agent'];

/** One check of a whole program (the warm-checker's `check` input). */
export interface SampleCheck {
  dataset: Dataset;
  problem: Problem;
  /** The whole program (prompt + completion, or the solution). */
  program: string;
  sample: number;
  timeoutS?: number;
  clock?: LimitClock;
  limits?: JobLimits;
}

/** Checks one program in the sandbox (WarmChecker fits this; so does run.ts's per-run checker). */
export interface SampleChecker {
  check(c: SampleCheck): Promise<{ verdict: Verdict; groundTruthCpuSeconds: number }>;
}

export interface SanitizeResult {
  /** The program kept: the longest valid code block, cut down to the entry point and what it uses. */
  code: string;
  /** How it was found: fenced blocks in the answer, or the longest valid run of lines in bare text. */
  source: 'fenced' | 'text' | 'none';
  /** Code blocks seen in the answer. */
  blocks: number;
  /** Whether the entry point is defined in `code`. */
  hasEntryPoint: boolean;
  /** Sandbox CPU time the sanitizer used. */
  cpuMs: number;
}

/** Extracts the program from a model's answer (sanitize.ts: Python's ast inside the checker sandbox). */
export interface CodeSanitizer {
  sanitize(answer: string, entryPoint: string, signal?: AbortSignal): Promise<SanitizeResult>;
}

export interface TokenMetrics {
  prompt: number;
  completion: number;
  /** Reasoning tokens: the server's count when it gives one, else estimated from the text (4 chars each). */
  reasoning: number;
}

/** Efficiency of one sample (summed into summary.json's `efficiency`). */
export interface SampleMetrics {
  /** Producing and checking the sample, end to end. */
  wallMs: number;
  /** Time spent waiting on the model. */
  modelMs: number;
  tokens: TokenMetrics;
  /** Model replies (1 in completion mode, 0 for given samples) and tool calls the agent made. */
  steps: number;
  toolCalls: number;
  /** CPU time inside the sandboxes: the check, the sanitizer, the agent's own commands. */
  sandboxCpuMs: number;
  /** From evalPricePromptPerMTok / evalPriceCompletionPerMTok; absent when no price is configured. */
  costUsd?: number;
}

/** A verdict as results.jsonl records it for the model and agent modes. */
export interface SampleVerdict extends Verdict {
  mode?: EvalMode;
  metrics?: SampleMetrics;
  /** Relative to the run directory: the raw answer and the extracted code (completion mode). */
  answer_file?: string;
  code_file?: string;
  /** Absolute path of the agent run's trajectory.jsonl (agent mode). */
  trajectory?: string;
  /** The agent's end status ("completed", "max_steps", …). */
  agent_status?: string;
  /** The model or agent failed before there was anything to check (the verdict's status is "error"). */
  generation_error?: string;
}

export interface SampleContext {
  config: JuneConfig;
  dataset: Dataset;
  problem: Problem;
  mode: EvalMode;
  sampleIndex: number;
  /** Sampling temperature; default config.llmTemperature. */
  temperature?: number;
  /** The run directory (outputs/ and agent/ are written under it). */
  runDir: string;
  /** Required in completion and agent modes. */
  model?: LanguageModel;
  /** Samples mode: the given program. */
  program?: string;
  checker: SampleChecker;
  /** Completion mode; default: a shared warm sanitizer sandbox (sanitize.ts). */
  sanitizer?: CodeSanitizer;
  /** Agent mode: where the agent's commands run; default createSandbox(config). */
  sandbox?: Sandbox;
  timeoutS?: number;
  clock?: LimitClock;
  signal?: AbortSignal;
  logger?: Logger;
  /**
   * A model or agent failure is a verdict ("error"), unless this says to throw it instead: the queue
   * handler throws the failures its task will retry (a provider that is down), so they are not recorded.
   */
  rethrow?: (err: unknown) => boolean;
}

export interface SampleOutcome {
  verdict: SampleVerdict;
  /** Ground-truth CPU seconds this sample's check paid for (0 when cached). */
  groundTruthCpuSeconds: number;
  /** The program that was checked (absent when nothing was produced). */
  program?: string;
}
