/**
 * Turns the JSON payloads of an OpenAI-compatible chat completion stream into June's LlmStreamEvents.
 * Pure (no I/O) so every server dialect can be tested chunk by chunk:
 *  - reasoning in `delta.reasoning_content` (vLLM, DeepSeek) or `delta.reasoning` (newer vLLM, Ollama,
 *    OpenRouter), or inline in `delta.content` (see ThinkTagSplitter);
 *  - native `delta.tool_calls`, accumulated by index: the first delta of a call carries id and name, the
 *    arguments arrive in pieces; calls are emitted once the stream has finished, when they are complete;
 *  - Hermes `<tool_call>` blocks in the answer text (see HermesToolCallParser);
 *  - the usage chunk (`stream_options.include_usage`) that arrives after the finish reason.
 */
import { randomUUID } from 'node:crypto';
import type { LlmStreamEvent, TokenUsage, ToolCall } from '../types.js';
import { MalformedOutputError, ProviderError } from '../../util/errors.js';
import { HermesToolCallParser } from './hermes-tool-calls.js';
import { ThinkTagSplitter, type ThinkingMode, type ThoughtPiece } from './think-splitter.js';

export interface OpenAiStreamDecoderOptions {
  /** Names the source in errors, e.g. "openai-llm". */
  provider: string;
  model: string;
  thinking?: ThinkingMode;
}

interface PartialToolCall {
  index: number;
  id: string;
  name: string;
  arguments: string;
}

export class OpenAiStreamDecoder {
  private readonly splitter: ThinkTagSplitter;
  private hermes: HermesToolCallParser;
  private readonly toolCalls = new Map<number, PartialToolCall>();
  private usage: TokenUsage | undefined;
  /** The finish reason the server reported, once it has. */
  finishReason: string | undefined;

  constructor(private readonly options: OpenAiStreamDecoderOptions) {
    this.splitter = new ThinkTagSplitter({ mode: options.thinking ?? 'auto', model: options.model });
    this.hermes = new HermesToolCallParser(options.provider);
  }

  /** `</think>` tags that arrived after an answer that was not a guess (dropped from the text). */
  get strayCloseTags(): number {
    return this.splitter.strayCloseTags;
  }

  /** The model closed a thought it never opened with a tag: it starts every reply mid-thought. */
  get closedUntaggedThought(): boolean {
    return this.splitter.closedUntaggedThought;
  }

  /** An 'always-open' stream ended with no tag confirming that the model thought at all. */
  get endedInUnconfirmedThought(): boolean {
    return this.splitter.endedInUnconfirmedThought;
  }

  /** Text already given out as answer was retracted as reasoning. */
  retracted = false;

  /** Reasoning arrived in a separate field, so tags in the content say nothing about the model. */
  sawExternalReasoning = false;

  /** One parsed `data:` payload. */
  push(payload: unknown): LlmStreamEvent[] {
    if (!isRecord(payload)) throw this.malformed(`stream chunk is not an object: ${preview(payload)}`);
    if (payload.error !== undefined || payload.object === 'error') {
      // vLLM and others report failures that happen mid-generation as an error object in the stream.
      const message = errorMessage(payload) ?? 'unknown error';
      throw new ProviderError(this.options.provider, `server error during the stream: ${message}`, {
        code: 'llm_stream_error',
        retryable: true,
      });
    }
    if (isRecord(payload.usage)) this.usage = toUsage(payload.usage);
    const events: LlmStreamEvent[] = [];
    const choices = Array.isArray(payload.choices) ? payload.choices : [];
    // June asks for one completion; any other choice index would be a second, unrelated answer.
    const choice = choices.find((c) => isRecord(c) && (c.index === undefined || c.index === 0));
    if (!isRecord(choice)) return events;
    const delta = isRecord(choice.delta) ? choice.delta : isRecord(choice.message) ? choice.message : {};

    // Some servers send the same text in both fields during their transition; take one, never both.
    const reasoning = nonEmptyString(delta.reasoning_content) ?? nonEmptyString(delta.reasoning);
    if (reasoning !== undefined) {
      this.sawExternalReasoning = true;
      this.addPieces(this.splitter.noteExternalReasoning(), events);
      events.push({ type: 'reasoning', text: reasoning });
    }
    const content = nonEmptyString(delta.content);
    if (content !== undefined) this.addPieces(this.splitter.push(content), events);
    if (Array.isArray(delta.tool_calls)) delta.tool_calls.forEach((d, i) => this.addToolCallDelta(d, i));
    if (typeof choice.finish_reason === 'string') this.finishReason = choice.finish_reason;
    return events;
  }

  /** End of stream: flushes held-back text, emits the tool calls and the final done event. */
  finish(): LlmStreamEvent[] {
    const events: LlmStreamEvent[] = [];
    this.addPieces(this.splitter.end(this.finishReason), events);
    for (const piece of this.hermes.end())
      events.push(piece.type === 'text' ? piece : { type: 'tool_call', call: piece.call });
    const native = [...this.toolCalls.values()].sort((a, b) => a.index - b.index);
    for (const partial of native) events.push({ type: 'tool_call', call: this.completeToolCall(partial) });
    let finishReason = this.finishReason ?? 'stop';
    // A Hermes call arrives with finish reason "stop"; report what actually happened.
    if (this.hermes.calls + native.length > 0 && finishReason === 'stop') finishReason = 'tool_calls';
    events.push(
      this.usage ? { type: 'done', finishReason, usage: this.usage } : { type: 'done', finishReason },
    );
    return events;
  }

  private addPieces(pieces: ThoughtPiece[], events: LlmStreamEvent[]): void {
    for (const piece of pieces) {
      if (piece.type === 'reasoning') {
        events.push({ type: 'reasoning', text: piece.text });
        continue;
      }
      if (piece.type === 'retract') {
        this.retracted = true;
        // Whatever the tool-call parser still holds was part of the thought too.
        this.hermes = new HermesToolCallParser(this.options.provider);
        events.push({ type: 'retract', text: piece.text });
        continue;
      }
      for (const p of this.hermes.push(piece.text)) {
        events.push(p.type === 'text' ? p : { type: 'tool_call', call: p.call });
      }
    }
  }

  private addToolCallDelta(delta: unknown, position: number): void {
    if (!isRecord(delta)) return;
    // A complete (non-streamed) message carries no index: its position is the index.
    const index = typeof delta.index === 'number' ? delta.index : position;
    let call = this.toolCalls.get(index);
    if (!call) {
      call = { index, id: '', name: '', arguments: '' };
      this.toolCalls.set(index, call);
    }
    if (typeof delta.id === 'string' && delta.id !== '' && call.id === '') call.id = delta.id;
    const fn = isRecord(delta.function) ? delta.function : {};
    if (typeof fn.name === 'string' && fn.name !== '' && fn.name !== call.name) {
      // The name normally comes whole in the first delta; a server that repeats it must not double it.
      call.name += fn.name;
    }
    if (typeof fn.arguments === 'string') call.arguments += fn.arguments;
    else if (isRecord(fn.arguments)) call.arguments += JSON.stringify(fn.arguments);
  }

  private completeToolCall(partial: PartialToolCall): ToolCall {
    if (partial.name === '') throw this.malformed(`tool call #${partial.index} has no function name`);
    return {
      id: partial.id || `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
      name: partial.name,
      arguments: partial.arguments.trim() === '' ? '{}' : partial.arguments,
    };
  }

  private malformed(message: string): MalformedOutputError {
    return new MalformedOutputError(this.options.provider, message);
  }
}

/** The human-readable message of an OpenAI-style error body, whatever its shape. */
export function errorMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() || undefined;
  if (!isRecord(body)) return undefined;
  if (isRecord(body.error)) return errorMessage(body.error);
  for (const key of ['message', 'error', 'detail']) {
    const v = body[key];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return undefined;
}

function toUsage(u: Record<string, unknown>): TokenUsage {
  const usage: TokenUsage = {};
  if (typeof u.prompt_tokens === 'number') usage.promptTokens = u.prompt_tokens;
  if (typeof u.completion_tokens === 'number') usage.completionTokens = u.completion_tokens;
  const details = u.completion_tokens_details;
  if (isRecord(details) && typeof details.reasoning_tokens === 'number')
    usage.reasoningTokens = details.reasoning_tokens;
  return usage;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmptyString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function preview(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}
