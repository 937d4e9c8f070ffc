/**
 * The agent loop: ask the model, run the tool calls it makes, feed back what happened, until it calls
 * `finish` or a limit stops it. It runs on the LanguageModel interface, so tool calls arrive already
 * decoded in whatever form the server used (native deltas, Hermes tags) and reasoning arrives apart.
 *
 * Guard rails, each ending the run with its own status:
 *  - steps, wall time and tokens (prompt + completion + estimated reasoning);
 *  - stuck: the same call with the same arguments, or the same error, a third time: the second time the
 *    model is told (once), the third time the run stops;
 *  - format errors: three replies in a row whose tool calls cannot be used (no call, broken JSON,
 *    unknown tool, bad arguments).
 * After every step that may have changed files, a snapshot (see workspace.ts). Every request, response
 * and observation goes to the trajectory.
 */
import type { Span } from '@opentelemetry/api';
import type { Logger } from '../observability/logger.js';
import { inSpan, startSpan } from '../observability/tracing.js';
import {
  toolCallFormatError,
  type ChatMessage,
  type LanguageModel,
  type ToolCall,
} from '../providers/types.js';
import type { Sandbox } from '../sandbox/types.js';
import { CancelledError, MalformedOutputError, toJuneError } from '../util/errors.js';
import { estimateTokens, fitContext, truncateObservation } from './context.js';
import { agentMetrics, type AgentMetrics } from './metrics.js';
import { parseCall, runTool, toolDefinitions, type ToolName, type ToolOutcome } from './tools.js';
import { TrajectoryWriter } from './trajectory.js';
import type { AgentLimits, AgentProgress, AgentResult, AgentStatus, TokenCounts } from './types.js';
import { releaseRun, runDiff, snapshot, updateRunInfo, type RunDir } from './workspace.js';

export const SYSTEM_PROMPT = `You are June's coding agent. You work in a workspace directory (your current directory, /workspace) with tools:
read_file, write_file, edit_file, list_files, search, execute_command (a shell in a sandbox with no network) and finish.
Work step by step: look at the files, make the change, run it or its tests to check, then call finish with a short summary for the user.
Use paths relative to the workspace. Always answer with tool calls; when the work is done, call finish.`;

const MAX_FORMAT_ERRORS = 3;

export interface AgentRunOptions {
  task: string;
  model: LanguageModel;
  sandbox: Sandbox;
  run: RunDir;
  limits: AgentLimits;
  logger?: Logger;
  signal?: AbortSignal;
  onProgress?: (p: AgentProgress) => void;
  metrics?: AgentMetrics;
  temperature?: number;
  maxTokensPerReply?: number;
}

interface StepReply {
  content: string;
  reasoning: string;
  toolCalls: ToolCall[];
  finishReason: string;
  usage: { promptTokens?: number; completionTokens?: number };
  error?: string;
  firstTokenMs: number | null;
  totalMs: number;
}

export async function runAgent(o: AgentRunOptions): Promise<AgentResult> {
  const started = performance.now();
  const metrics = o.metrics ?? agentMetrics();
  const trajectory = new TrajectoryWriter(o.run.trajectory);
  const tokens: TokenCounts = { prompt: 0, completion: 0, reasoning: 0 };
  let modelMs = 0;
  let commandMs = 0;
  let toolCalls = 0;
  let steps = 0;
  let status: AgentStatus = 'max_steps';
  let answer = '';
  const messages: ChatMessage[] = [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: o.task },
  ];
  const seenCalls = new Map<string, number>();
  const seenErrors = new Map<string, number>();
  let nudged = false;
  let pendingNudge: string | undefined;
  let formatErrorsInRow = 0;
  const runSpan = startSpan('agent.run', undefined, { 'agent.run_id': o.run.id, 'llm.model': o.model.model });
  trajectory.write({
    type: 'run_start',
    runId: o.run.id,
    task: o.task,
    model: o.model.model,
    sandbox: o.sandbox.kind,
    limits: o.limits,
  });

  /** Returns a status when this repeat means the run is stuck, and nudges the model the first time. */
  const repeated = (map: Map<string, number>, key: string, what: string): AgentStatus | undefined => {
    const n = (map.get(key) ?? 0) + 1;
    map.set(key, n);
    if (n < 2) return undefined;
    if (!nudged) {
      nudged = true;
      // Sent after this step's tool results: a message between them would break the tool-call pairing.
      pendingNudge = `You are repeating yourself (${what}). That did not help before; try a different approach, or call finish if you cannot go further.`;
      trajectory.write({ type: 'note', step: steps, text: `nudged: ${what}` });
      return undefined;
    }
    return 'stuck';
  };

  try {
    while (steps < o.limits.maxSteps) {
      if (o.signal?.aborted) throw new CancelledError();
      if (performance.now() - started > o.limits.maxWallMs) {
        status = 'max_wall_time';
        break;
      }
      if (tokens.prompt + tokens.completion + tokens.reasoning >= o.limits.maxTokens) {
        status = 'max_tokens';
        break;
      }
      steps++;
      o.onProgress?.({ step: steps, activity: 'thinking' });
      const stop = await inSpan('agent.step', runSpan, { 'agent.step': steps }, async (stepSpan) => {
        const elided = fitContext(messages, Math.floor(o.limits.contextTokens * 0.75));
        if (elided > 0)
          trajectory.write({ type: 'note', step: steps, text: `elided ${elided} old observations` });
        const reply = await askModel(o, messages, stepSpan);
        modelMs += reply.totalMs;
        tokens.prompt += reply.usage.promptTokens ?? estimateTokens(messages.map((m) => m.content).join(''));
        tokens.completion += reply.usage.completionTokens ?? estimateTokens(reply.content);
        tokens.reasoning += estimateTokens(reply.reasoning);
        trajectory.write({
          type: 'model',
          step: steps,
          content: reply.content,
          reasoning: reply.reasoning,
          toolCalls: reply.toolCalls,
          finishReason: reply.finishReason,
          usage: reply.usage,
          timings: { firstTokenMs: reply.firstTokenMs, totalMs: reply.totalMs },
          ...(reply.error ? { error: reply.error } : {}),
        });
        if (reply.error || reply.toolCalls.length === 0) {
          metrics.formatErrors.inc();
          formatErrorsInRow++;
          const why = reply.error ?? 'your reply had no tool call';
          messages.push({ role: 'assistant', content: reply.content });
          messages.push({
            role: 'user',
            content: `${why}. Answer with a tool call (JSON arguments); call finish with a summary when the task is done.`,
          });
          return formatErrorsInRow >= MAX_FORMAT_ERRORS ? ('format_errors' as const) : undefined;
        }
        messages.push({ role: 'assistant', content: reply.content, toolCalls: reply.toolCalls });
        let changed = false;
        let stepFormatOk = false;
        let result: AgentStatus | undefined;
        for (const call of reply.toolCalls) {
          toolCalls++;
          const outcome = await callTool(o, call, steps, stepSpan);
          if (outcome.sandbox) {
            commandMs += outcome.sandbox.wallMs;
            metrics.sandboxExec.observe({ backend: o.sandbox.kind }, outcome.sandbox.wallMs / 1000);
          }
          if (!outcome.formatError) stepFormatOk = true;
          else metrics.formatErrors.inc();
          metrics.toolCalls.inc({
            tool: outcome.known ? call.name : 'unknown',
            status: outcome.ok ? 'ok' : 'error',
          });
          changed ||= outcome.changed === true;
          const content = truncateObservation(outcome.content, o.limits.maxObservationChars);
          messages.push({ role: 'tool', content, toolCallId: call.id, name: call.name });
          trajectory.write({
            type: 'observation',
            step: steps,
            callId: call.id,
            tool: call.name,
            ok: outcome.ok,
            content,
            ...(outcome.sandbox
              ? {
                  sandbox: {
                    exitCode: outcome.sandbox.exitCode,
                    wallMs: outcome.sandbox.wallMs,
                    cpuMs: outcome.sandbox.cpuMs,
                    maxRssKb: outcome.sandbox.maxRssKb,
                    timedOut: outcome.sandbox.timedOut,
                    killedBy: outcome.sandbox.killedBy,
                  },
                }
              : {}),
          });
          if (outcome.finish !== undefined) {
            answer = outcome.finish;
            result = 'completed';
            break;
          }
          const key = `${call.name} ${canonical(call.arguments)}`;
          result = repeated(seenCalls, key, `the same ${call.name} call again`);
          if (!result && !outcome.ok) result = repeated(seenErrors, outcome.content, 'the same error again');
          if (result) break;
        }
        if (pendingNudge) messages.push({ role: 'user', content: pendingNudge });
        pendingNudge = undefined;
        formatErrorsInRow = stepFormatOk ? 0 : formatErrorsInRow + 1;
        if (changed) {
          const commit = await snapshot(o.run, steps);
          if (commit) trajectory.write({ type: 'snapshot', step: steps, commit });
        }
        if (!result && formatErrorsInRow >= MAX_FORMAT_ERRORS) result = 'format_errors';
        return result;
      });
      if (stop) {
        status = stop;
        break;
      }
    }
  } catch (err) {
    const e = toJuneError(err);
    status = e instanceof CancelledError || o.signal?.aborted ? 'cancelled' : 'failed';
    answer = e.userMessage;
    o.logger?.warn({ runId: o.run.id, err: e.message }, 'coding agent run failed');
  }
  if (status !== 'completed' && answer === '') answer = stopSentence(status, o.limits);
  const diff = await runDiff(o.run).catch(() => '');
  releaseRun(o.run);
  trajectory.write({ type: 'run_end', status, answer, steps, tokens });
  trajectory.close();
  updateRunInfo(o.run, { status });
  metrics.runs.inc({ status });
  metrics.steps.observe(steps);
  metrics.tokens.inc({ kind: 'prompt' }, tokens.prompt);
  metrics.tokens.inc({ kind: 'completion' }, tokens.completion);
  metrics.tokens.inc({ kind: 'reasoning' }, tokens.reasoning);
  runSpan.setAttribute('agent.status', status);
  runSpan.setAttribute('agent.steps', steps);
  runSpan.end();
  const totalMs = performance.now() - started;
  return {
    runId: o.run.id,
    status,
    answer,
    steps,
    toolCalls,
    tokens,
    diff,
    trajectory: o.run.trajectory,
    timings: { totalMs, modelMs, commandMs, overheadMs: Math.max(0, totalMs - modelMs - commandMs) },
  };
}

async function askModel(o: AgentRunOptions, messages: ChatMessage[], parent: Span): Promise<StepReply> {
  return inSpan('llm.chat', parent, { 'llm.model': o.model.model }, async () => {
    const t0 = performance.now();
    const reply: StepReply = {
      content: '',
      reasoning: '',
      toolCalls: [],
      finishReason: 'unknown',
      usage: {},
      firstTokenMs: null,
      totalMs: 0,
    };
    try {
      for await (const ev of o.model.chatStream({
        messages,
        tools: toolDefinitions,
        ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
        ...(o.maxTokensPerReply !== undefined ? { maxTokens: o.maxTokensPerReply } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      })) {
        reply.firstTokenMs ??= performance.now() - t0;
        if (ev.type === 'text') reply.content += ev.text;
        else if (ev.type === 'reasoning') reply.reasoning += ev.text;
        else if (ev.type === 'retract') {
          reply.reasoning += ev.text;
          reply.content = '';
        } else if (ev.type === 'tool_call') reply.toolCalls.push(ev.call);
        else {
          reply.finishReason = ev.finishReason;
          if (ev.usage) reply.usage = ev.usage;
        }
      }
    } catch (err) {
      // A tool call the decoder could not read (broken JSON in Hermes tags) is the model's format error.
      if (!(err instanceof MalformedOutputError)) throw err;
      reply.error = toolCallFormatError(err);
      reply.toolCalls = [];
    }
    reply.totalMs = performance.now() - t0;
    return reply;
  });
}

async function callTool(
  o: AgentRunOptions,
  call: ToolCall,
  step: number,
  parent: Span,
): Promise<ToolOutcome & { formatError: boolean; known: boolean }> {
  const parsed = parseCall(call.name, call.arguments);
  if ('error' in parsed)
    return {
      ok: false,
      content: parsed.error,
      formatError: true,
      known: !parsed.error.startsWith('unknown tool'),
    };
  o.onProgress?.({ step, activity: activityOf(call.name as ToolName, parsed.args) });
  const ctx = {
    workspace: o.run.workspace,
    sandbox: o.sandbox,
    commandTimeoutMs: o.limits.commandTimeoutMs,
    ...(o.signal ? { signal: o.signal } : {}),
  };
  const outcome =
    call.name === 'execute_command'
      ? await inSpan('sandbox.exec', parent, { 'sandbox.backend': o.sandbox.kind }, () =>
          runTool('execute_command', parsed.args, ctx),
        )
      : await runTool(call.name as ToolName, parsed.args, ctx);
  return { ...outcome, formatError: false, known: true };
}

function activityOf(name: ToolName, args: unknown): string {
  const a = args as Record<string, unknown>;
  const clip = (s: unknown) => String(s).slice(0, 60);
  switch (name) {
    case 'execute_command':
      return `running: ${clip(a.command)}`;
    case 'write_file':
    case 'edit_file':
      return `editing ${clip(a.path)}`;
    case 'read_file':
      return `reading ${clip(a.path)}`;
    case 'finish':
      return 'finishing';
    default:
      return `${name.replace('_', ' ')} ${clip(a.pattern ?? '')}`.trim();
  }
}

/** JSON arguments with keys sorted, so {"a":1,"b":2} and {"b":2,"a":1} count as the same call. */
function canonical(raw: string): string {
  try {
    const sort = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(sort)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .sort(([x], [y]) => (x < y ? -1 : 1))
                .map(([k, x]) => [k, sort(x)]),
            )
          : v;
    return JSON.stringify(sort(JSON.parse(raw)));
  } catch {
    return raw;
  }
}

function stopSentence(status: AgentStatus, limits: AgentLimits): string {
  switch (status) {
    case 'max_steps':
      return `I stopped after ${limits.maxSteps} steps without finishing; the changes so far are kept.`;
    case 'max_wall_time':
      return `I ran out of time (${Math.round(limits.maxWallMs / 1000)} s) before finishing; the changes so far are kept.`;
    case 'max_tokens':
      return 'I used up my token budget before finishing; the changes so far are kept.';
    case 'stuck':
      return 'I was going round in circles, so I stopped; the changes so far are kept.';
    case 'format_errors':
      return 'The model kept answering in a form I could not use, so I stopped.';
    case 'cancelled':
      return 'Cancelled.';
    default:
      return 'Something went wrong while I was working on that.';
  }
}
