/**
 * Scripted coding-agent turns for the fake OpenAI server, in the wire formats local models really use:
 * native tool calls streamed as vLLM streams them (id and name first, arguments in pieces), Hermes
 * `<tool_call>` tags in the content (Qwen3 without a tool parser), and Qwen3-Thinking output that starts
 * mid-thought and only has the closing `</think>`.
 */
import { streamOf, type Delta } from './fake-openai-scenarios.js';
import type { ScriptedResponse } from './fake-openai-server.js';

let counter = 0;

/** Splits a string into pieces of `size` characters, as a server streams argument tokens. */
function pieces(text: string, size = 7): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** One reply with native tool calls; `args` objects are JSON-encoded, strings are sent verbatim (malformed). */
export function nativeCalls(
  calls: { name: string; args: Record<string, unknown> | string }[],
  options: { content?: string; reasoning?: string } = {},
): ScriptedResponse {
  const deltas: Delta[] = [];
  if (options.reasoning) deltas.push(...pieces(options.reasoning, 12).map((r) => ({ reasoning_content: r })));
  if (options.content) deltas.push({ content: options.content });
  calls.forEach((c, index) => {
    const id = `call_${++counter}`;
    deltas.push({ tool_calls: [{ index, id, type: 'function', function: { name: c.name, arguments: '' } }] });
    const json = typeof c.args === 'string' ? c.args : JSON.stringify(c.args);
    for (const a of pieces(json)) deltas.push({ tool_calls: [{ index, function: { arguments: a } }] });
  });
  return streamOf(deltas, { finishReason: 'tool_calls', usage: [100 + counter, 20] });
}

/** One reply with a Hermes tag in the content, optionally after `</think>`-only reasoning. */
export function hermesCall(name: string, args: Record<string, unknown>, thinking?: string): ScriptedResponse {
  const body = `<tool_call>\n${JSON.stringify({ name, arguments: args })}\n</tool_call>`;
  const text = thinking ? `${thinking}\n</think>\n\n${body}` : body;
  return streamOf(
    pieces(text, 9).map((c) => ({ content: c })),
    { usage: [120, 30] },
  );
}

/** A plain text reply with no tool call. */
export function textOnly(text: string): ScriptedResponse {
  return streamOf(pieces(text, 9).map((c) => ({ content: c })));
}
