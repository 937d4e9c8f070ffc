/**
 * Extracts Hermes-style tool calls written into the answer text:
 *
 *   <tool_call>
 *   {"name": "get_weather", "arguments": {"city": "Paris"}}
 *   </tool_call>
 *
 * Qwen, Hermes and many fine-tunes emit these when the server has no tool-call parser enabled (vLLM without
 * --tool-call-parser, plain llama.cpp). Each complete block becomes a tool call and is removed from the text;
 * a suffix that could be the start of `<tool_call>` is held back until the next chunk settles it.
 *
 * Malformed JSON inside a block throws MalformedOutputError. Keeping it as text would make June read JSON
 * aloud, and dropping it would silently skip an action the model meant to take; the error is retryable, so
 * the caller may ask again (sampling usually gets it right the second time).
 */
import { randomUUID } from 'node:crypto';
import type { ToolCall } from '../types.js';
import { MalformedOutputError } from '../../util/errors.js';
import { partialTagLength } from './think-splitter.js';

export type HermesPiece = { type: 'text'; text: string } | { type: 'tool_call'; call: ToolCall };

const OPEN = '<tool_call>';
const CLOSE = '</tool_call>';

export class HermesToolCallParser {
  private buffer = '';
  private inCall = false;
  /** Whitespace held back: it is only emitted when more text follows, never next to a removed call. */
  private pendingSpace = '';
  private afterCall = false;
  /** Number of calls extracted so far. */
  calls = 0;

  /** `provider` names the source in errors, e.g. "openai-llm". */
  constructor(private readonly provider: string) {}

  push(chunk: string): HermesPiece[] {
    const out: HermesPiece[] = [];
    this.buffer += chunk;
    for (;;) {
      if (this.inCall) {
        const close = this.buffer.indexOf(CLOSE);
        if (close === -1) return out;
        out.push({ type: 'tool_call', call: this.parse(this.buffer.slice(0, close)) });
        this.buffer = this.buffer.slice(close + CLOSE.length);
        this.inCall = false;
        this.afterCall = true;
        continue;
      }
      const open = this.buffer.indexOf(OPEN);
      if (open !== -1) {
        this.emitText(this.buffer.slice(0, open), out);
        this.buffer = this.buffer.slice(open + OPEN.length);
        this.inCall = true;
        continue;
      }
      const keep = partialTagLength(this.buffer, [OPEN]);
      this.emitText(this.buffer.slice(0, this.buffer.length - keep), out);
      this.buffer = this.buffer.slice(this.buffer.length - keep);
      return out;
    }
  }

  /**
   * End of stream. An unterminated block is accepted when its JSON is complete (some servers stop on the
   * end-of-turn token before `</tool_call>`), and is malformed output otherwise.
   */
  end(): HermesPiece[] {
    const out: HermesPiece[] = [];
    const rest = this.buffer;
    this.buffer = '';
    if (this.inCall) {
      this.inCall = false;
      if (rest.trim() === '') throw new MalformedOutputError(this.provider, 'tool call block ended empty');
      out.push({ type: 'tool_call', call: this.parse(rest) });
    } else {
      this.emitText(rest, out);
    }
    this.pendingSpace = '';
    return out;
  }

  private emitText(raw: string, out: HermesPiece[]): void {
    let text = raw;
    if (this.afterCall) {
      text = text.trimStart();
      if (text === '') return;
      this.afterCall = false;
    }
    text = this.pendingSpace + text;
    this.pendingSpace = '';
    const trailing = /\s+$/.exec(text);
    if (trailing) {
      this.pendingSpace = trailing[0];
      text = text.slice(0, trailing.index);
    }
    if (text !== '') out.push({ type: 'text', text });
  }

  private parse(body: string): ToolCall {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      throw new MalformedOutputError(this.provider, `tool call is not valid JSON: ${preview(body)}`, err);
    }
    if (!isRecord(parsed) || typeof parsed.name !== 'string' || parsed.name === '') {
      throw new MalformedOutputError(this.provider, `tool call has no name: ${preview(body)}`);
    }
    // Llama-3-style fine-tunes write "parameters" where Hermes writes "arguments".
    const args = parsed.arguments ?? parsed.parameters ?? {};
    this.calls++;
    return {
      id: `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
      name: parsed.name,
      arguments: typeof args === 'string' ? args : JSON.stringify(args),
    };
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function preview(s: string): string {
  const t = s.trim();
  return t.length > 120 ? `${t.slice(0, 120)}…` : t;
}
