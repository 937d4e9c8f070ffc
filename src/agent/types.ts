/**
 * The coding agent's public shapes: what a run is given, what it returns, and the trajectory events it
 * writes (one JSON object per line, documented in docs/agent.md).
 */
import type { ExecResult } from '../sandbox/types.js';

export interface AgentLimits {
  maxSteps: number;
  maxWallMs: number;
  /** Prompt + completion + reasoning tokens over the whole run. */
  maxTokens: number;
  commandTimeoutMs: number;
  /** The model's context size in tokens; old observations are elided before the conversation nears it. */
  contextTokens: number;
  /** Characters of one observation kept (head and tail). */
  maxObservationChars: number;
}

export const DEFAULT_AGENT_LIMITS: AgentLimits = {
  maxSteps: 30,
  maxWallMs: 10 * 60_000,
  maxTokens: 200_000,
  commandTimeoutMs: 60_000,
  contextTokens: 16_384,
  maxObservationChars: 8000,
};

export type AgentStatus =
  | 'completed'
  | 'max_steps'
  | 'max_wall_time'
  | 'max_tokens'
  | 'stuck'
  | 'format_errors'
  | 'cancelled'
  | 'failed';

export interface TokenCounts {
  prompt: number;
  completion: number;
  /** Estimated from the reasoning text (servers report it inside completion tokens, if at all). */
  reasoning: number;
}

export interface AgentResult {
  runId: string;
  status: AgentStatus;
  /** The summary the model gave to `finish`, or a sentence saying why the run stopped. */
  answer: string;
  steps: number;
  toolCalls: number;
  tokens: TokenCounts;
  /** Unified diff of everything the run changed (against the starting workspace). */
  diff: string;
  trajectory: string;
  timings: { totalMs: number; modelMs: number; commandMs: number; overheadMs: number };
}

/** A progress event per step, for the CLI, channels and the web view. */
export interface AgentProgress {
  step: number;
  /** e.g. "running: npm test", "editing src/a.py", "thinking". */
  activity: string;
}

export type TrajectoryEvent =
  | {
      type: 'run_start';
      at: string;
      runId: string;
      task: string;
      model: string;
      sandbox: string;
      limits: AgentLimits;
    }
  | {
      type: 'model';
      at: string;
      step: number;
      content: string;
      reasoning: string;
      toolCalls: { id: string; name: string; arguments: string }[];
      finishReason: string;
      usage: { promptTokens?: number; completionTokens?: number };
      timings: { firstTokenMs: number | null; totalMs: number };
      error?: string;
    }
  | {
      type: 'observation';
      at: string;
      step: number;
      callId: string;
      tool: string;
      ok: boolean;
      content: string;
      sandbox?: Pick<ExecResult, 'exitCode' | 'wallMs' | 'cpuMs' | 'maxRssKb' | 'timedOut' | 'killedBy'>;
    }
  | { type: 'snapshot'; at: string; step: number; commit: string }
  | { type: 'note'; at: string; step: number; text: string }
  | { type: 'run_end'; at: string; status: AgentStatus; answer: string; steps: number; tokens: TokenCounts };
