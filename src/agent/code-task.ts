/**
 * One coding task from start to result, as every way in needs it (`june code`, and later the task
 * capability): the run directory (a copy of an allow-listed project, or an empty workspace), the
 * configured sandbox and language model, the loop, and the JSON the CLI and API print.
 */
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { LanguageModel } from '../providers/types.js';
import { createSandbox } from '../sandbox/factory.js';
import type { Sandbox } from '../sandbox/types.js';
import { runAgent } from './loop.js';
import type { AgentLimits, AgentProgress, AgentResult } from './types.js';
import { createRunDir } from './workspace.js';

export function agentLimits(config: JuneConfig): AgentLimits {
  return {
    maxSteps: config.agentMaxSteps,
    maxWallMs: config.agentMaxWallMs,
    maxTokens: config.agentMaxTokens,
    commandTimeoutMs: config.agentCommandTimeoutMs,
    contextTokens: config.agentContextTokens,
    maxObservationChars: 8000,
  };
}

export interface CodeTaskOptions {
  task: string;
  /** A user's project directory (must be in config.agentProjects); omitted: a fresh, empty workspace. */
  project?: string;
  model: LanguageModel;
  sandbox?: Sandbox;
  logger?: Logger;
  signal?: AbortSignal;
  /** Each step's progress, with the run's id (so a web view can read the run directory as it grows). */
  onProgress?: (p: AgentProgress & { runId: string }) => void;
}

export async function runCodeTask(config: JuneConfig, o: CodeTaskOptions): Promise<AgentResult> {
  const run = await createRunDir(config.dataDir, o.task, {
    ...(o.project ? { project: o.project, allowedProjects: config.agentProjects } : {}),
  });
  return runAgent({
    task: o.task,
    model: o.model,
    sandbox: o.sandbox ?? createSandbox(config, o.logger),
    run,
    limits: agentLimits(config),
    temperature: config.llmTemperature,
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onProgress ? { onProgress: (p: AgentProgress) => o.onProgress?.({ ...p, runId: run.id }) } : {}),
  });
}

/** `{status, answer, steps, toolCalls, tokens, diff, trajectory, timings}` (plus the run id). */
export function resultJson(r: AgentResult): Record<string, unknown> {
  return {
    runId: r.runId,
    status: r.status,
    answer: r.answer,
    steps: r.steps,
    toolCalls: r.toolCalls,
    tokens: r.tokens,
    diff: r.diff,
    trajectory: r.trajectory,
    timings: r.timings,
  };
}
