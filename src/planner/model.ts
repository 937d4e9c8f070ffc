/**
 * The planner's conversations with the language model: asking for a plan (a `make_plan` tool call, or the
 * plan as JSON in the text for models without tools; Hermes `<tool_call>` tags arrive already decoded by the
 * provider), sending an invalid plan back once with the reason, and composing the final answer from the
 * subtasks' results. Token use is counted from the server's usage, estimated from the text when it gives none.
 */
import {
  collectChatOrFormatError,
  type ChatMessage,
  type ChatResult,
  type LanguageModel,
  type ToolDefinition,
} from '../providers/types.js';
import type { Plan, PlanCost } from './contract.js';
import { checkPlan, SUBTASK_CAPABILITIES, type PlanLimitKind, type PlanLimits } from './plan.js';

export const MAKE_PLAN_TOOL: ToolDefinition = {
  name: 'make_plan',
  description:
    'Break the request into a small graph of subtasks. Each subtask has a capability (chat: answer or write from text; code: write or change files and run them in a sandbox; browse: read web pages), its instructions, literal inputs (urls, file names, text) and the ids of the subtasks whose results it needs.',
  parameters: {
    type: 'object',
    properties: {
      goal: { type: 'string', description: 'What the whole plan achieves, in one sentence' },
      subtasks: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            id: { type: 'string', description: 'Short id: lowercase letters, digits, - or _' },
            capability: { type: 'string', enum: [...SUBTASK_CAPABILITIES] },
            instructions: { type: 'string' },
            inputs: { type: 'object', additionalProperties: { type: 'string' } },
            needs: { type: 'array', items: { type: 'string' } },
          },
          required: ['id', 'capability', 'instructions', 'needs'],
        },
      },
    },
    required: ['goal', 'subtasks'],
  },
};

export const PLAN_SYSTEM_PROMPT = `You are June's planner. Break the user's request into a small plan of subtasks that workers run, in parallel where they do not depend on each other.
Capabilities: chat (reason, answer or write from the text it is given), code (write or change files and run commands in a sandbox without network), browse (open web pages and read them).
A subtask receives the results of the subtasks listed in its "needs". Use as few subtasks as the request needs.
Answer with one call of the make_plan tool (or, without tools, only the plan as JSON: {"goal": ..., "subtasks": [{"id", "capability", "instructions", "inputs", "needs"}]}).`;

export const COMPOSE_SYSTEM_PROMPT = `You are June, a voice assistant. Subtasks of the user's request have run; write the final answer from their results.
Answer in JSON only: {"answer": "the full answer as text", "summary": "one or two short sentences to be spoken aloud"}.
If some subtasks failed, say plainly what could not be done.`;

export interface Usage {
  prompt: number;
  completion: number;
}

export function addUsage(a: Usage, b: Usage): Usage {
  return { prompt: a.prompt + b.prompt, completion: a.completion + b.completion };
}

const estimate = (text: string) => Math.ceil(text.length / 4);

/** One model reply, drained; broken tool-call JSON comes back as `malformed` instead of throwing. */
async function ask(
  llm: LanguageModel,
  messages: ChatMessage[],
  o: { tools?: ToolDefinition[]; signal?: AbortSignal; maxTokens?: number; temperature?: number },
): Promise<{ reply: ChatResult; usage: Usage; malformed?: string }> {
  const { malformed, ...reply } = await collectChatOrFormatError(
    llm.chatStream({
      messages,
      ...(o.tools ? { tools: o.tools } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.maxTokens !== undefined ? { maxTokens: o.maxTokens } : {}),
      ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    }),
  );
  const prompt = reply.usage?.promptTokens ?? estimate(messages.map((m) => m.content).join('\n'));
  const completion =
    reply.usage?.completionTokens ?? estimate(reply.text + reply.reasoning) + reply.toolCalls.length * 50;
  return { reply, usage: { prompt, completion }, ...(malformed ? { malformed } : {}) };
}

/** The first JSON object in a text (bare, or in a ```json fence), or undefined. */
export function jsonIn(text: string): unknown {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text);
  const candidates = [fenced?.[1], text];
  for (const c of candidates) {
    if (!c) continue;
    const start = c.indexOf('{');
    const end = c.lastIndexOf('}');
    if (start < 0 || end <= start) continue;
    try {
      return JSON.parse(c.slice(start, end + 1)) as unknown;
    } catch {
      // not JSON: try the next candidate
    }
  }
  return undefined;
}

export type PlanOutcome =
  | { ok: true; plan: Plan; usage: Usage; attempts: number }
  | {
      ok: false;
      errors: string[];
      usage: Usage;
      attempts: number;
      limit?: { kind: PlanLimitKind; message: string };
    };

export interface MakePlanOptions {
  llm: LanguageModel;
  request: string;
  limits: PlanLimits;
  /** Extra context for a re-plan: what ran, what failed. */
  context?: string;
  language?: string;
  signal?: AbortSignal;
  maxTokens?: number;
  temperature?: number;
}

/**
 * Asks for a plan; an invalid, cyclic or too large one goes back to the model once with the reasons.
 * Errors of the server itself (down, 5xx) are thrown: the task layer retries them.
 */
export async function makePlan(o: MakePlanOptions): Promise<PlanOutcome> {
  const user = [
    o.request,
    o.context ? `\n${o.context}` : '',
    `\nAt most ${o.limits.maxSubtasks} subtasks, and chains of at most ${o.limits.maxDepth} subtasks that need each other.`,
    o.language ? `\nThe user speaks language "${o.language}".` : '',
  ].join('');
  const messages: ChatMessage[] = [
    { role: 'system', content: PLAN_SYSTEM_PROMPT },
    { role: 'user', content: user },
  ];
  let usage: Usage = { prompt: 0, completion: 0 };
  let errors: string[] = [];
  let limit: { kind: PlanLimitKind; message: string } | undefined;
  for (let attempt = 1; attempt <= 2; attempt++) {
    const {
      reply,
      usage: u,
      malformed,
    } = await ask(o.llm, messages, {
      tools: [MAKE_PLAN_TOOL],
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.maxTokens !== undefined ? { maxTokens: o.maxTokens } : {}),
      ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    });
    usage = addUsage(usage, u);
    const call = reply.toolCalls.find((c) => c.name === MAKE_PLAN_TOOL.name);
    let raw: unknown;
    if (malformed) errors = [`The plan could not be read: ${malformed}.`];
    else if (call) {
      try {
        raw = JSON.parse(call.arguments) as unknown;
      } catch {
        errors = ['The make_plan arguments are not valid JSON.'];
      }
    } else {
      raw = jsonIn(reply.text);
      if (raw === undefined) errors = ['No plan was given: call make_plan with the plan.'];
    }
    if (raw !== undefined) {
      const check = checkPlan(raw, o.limits);
      if (check.ok) return { ok: true, plan: check.plan, usage, attempts: attempt };
      errors = check.errors;
      limit = check.limit;
    } else limit = undefined;
    if (attempt === 2) break;
    const feedback = `Your plan was not accepted: ${errors.join(' ')} Send a corrected plan.`;
    if (call) {
      messages.push({ role: 'assistant', content: reply.text, toolCalls: [call] });
      messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: feedback });
    } else {
      messages.push({ role: 'assistant', content: reply.text });
      messages.push({ role: 'user', content: feedback });
    }
  }
  return { ok: false, errors, usage, attempts: 2, ...(limit ? { limit } : {}) };
}

/** Rough expected cost per subtask, by capability: tokens and seconds. */
const PER_SUBTASK: Record<string, { tokens: number; seconds: number }> = {
  chat: { tokens: 3_000, seconds: 20 },
  code: { tokens: 40_000, seconds: 180 },
  browse: { tokens: 12_000, seconds: 60 },
};

/**
 * The plan's expected cost: its subtasks, tokens (each subtask's estimate plus planning and composing) and
 * seconds along the longest path of the graph (parallel subtasks overlap), for the approval rule.
 */
export function estimateCost(plan: Plan): PlanCost {
  const byId = new Map(plan.subtasks.map((s) => [s.id, s]));
  const memo = new Map<string, number>();
  const finish = (id: string): number => {
    const m = memo.get(id);
    if (m !== undefined) return m;
    const s = byId.get(id)!;
    const own = PER_SUBTASK[s.capability]?.seconds ?? 60;
    const v = own + Math.max(0, ...s.needs.map(finish));
    memo.set(id, v);
    return v;
  };
  const pathSeconds = Math.max(0, ...plan.subtasks.map((s) => finish(s.id)));
  const tokens = plan.subtasks.reduce((n, s) => n + (PER_SUBTASK[s.capability]?.tokens ?? 10_000), 0);
  return { subtasks: plan.subtasks.length, estTokens: tokens + 4_000, estSeconds: pathSeconds + 20 };
}

export interface ComposeInput {
  llm: LanguageModel;
  request: string;
  goal: string;
  done: { id: string; instructions: string; result: string }[];
  failed: { id: string; instructions: string; error: string }[];
  language?: string;
  signal?: AbortSignal;
  maxTokens?: number;
  temperature?: number;
}

export interface Composed {
  answer: string;
  summary: string;
  usage: Usage;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** The final answer and its short spoken summary, from the subtasks' results. */
export async function compose(o: ComposeInput): Promise<Composed> {
  const parts = [`Request: ${o.request}`, `Goal: ${o.goal}`];
  for (const d of o.done)
    parts.push(`Subtask ${d.id} (${clip(d.instructions, 200)}) succeeded:\n${clip(d.result, 6000)}`);
  for (const f of o.failed) parts.push(`Subtask ${f.id} (${clip(f.instructions, 200)}) failed: ${f.error}`);
  if (o.language) parts.push(`Answer in language "${o.language}".`);
  const { reply, usage } = await ask(
    o.llm,
    [
      { role: 'system', content: COMPOSE_SYSTEM_PROMPT },
      { role: 'user', content: parts.join('\n\n') },
    ],
    {
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.maxTokens !== undefined ? { maxTokens: o.maxTokens } : {}),
      ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    },
  );
  const json = jsonIn(reply.text) as { answer?: unknown; summary?: unknown } | undefined;
  const text = reply.text.trim();
  const answer = typeof json?.answer === 'string' && json.answer.trim() ? json.answer.trim() : text;
  const summary =
    typeof json?.summary === 'string' && json.summary.trim()
      ? json.summary.trim()
      : firstSentences(answer, 2);
  return { answer, summary, usage };
}

/** The first `n` sentences of a text (for a spoken summary when the model gave none). */
export function firstSentences(text: string, n: number): string {
  const sentences = text.replace(/\s+/g, ' ').match(/[^.!?]+[.!?]+/g) ?? [text];
  return clip(sentences.slice(0, n).join('').trim(), 300);
}

/** One answer for a chat subtask: its instructions, inputs and the results it needs. */
export async function answerSubtask(o: {
  llm: LanguageModel;
  instructions: string;
  inputs: Record<string, string>;
  needs: { id: string; result: string }[];
  signal?: AbortSignal;
  maxTokens?: number;
  temperature?: number;
}): Promise<{ text: string; usage: Usage }> {
  const { reply, usage } = await ask(
    o.llm,
    [
      { role: 'system', content: SUBTASK_SYSTEM_PROMPT },
      { role: 'user', content: subtaskPrompt(o) },
    ],
    {
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.maxTokens !== undefined ? { maxTokens: o.maxTokens } : {}),
      ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    },
  );
  return { text: reply.text.trim(), usage };
}

export const SUBTASK_SYSTEM_PROMPT =
  'You do one step of a larger task for June, a voice assistant. Do exactly what the instructions ask, using the inputs and the results of earlier steps. Answer with the result only.';

/** A subtask's instructions with its inputs and the results it needs, as one prompt. */
export function subtaskPrompt(o: {
  instructions: string;
  inputs: Record<string, string>;
  needs: { id: string; result: string }[];
}): string {
  const parts = [o.instructions];
  const inputs = Object.entries(o.inputs);
  if (inputs.length > 0) parts.push(`Inputs:\n${inputs.map(([k, v]) => `- ${k}: ${v}`).join('\n')}`);
  for (const n of o.needs) parts.push(`Result of step ${n.id}:\n${clip(n.result, 8000)}`);
  return parts.join('\n\n');
}
