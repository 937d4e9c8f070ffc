/**
 * The seams between June's pipeline and its engines. Every implementation of an interface here is run
 * through the same behaviour suite (see `*.behaviour.ts` beside each kind).
 */

import type { PcmAudio } from '../audio/pcm-audio.js';
import { MalformedOutputError } from '../util/errors.js';

export type { PcmAudio };

// ---------------------------------------------------------------- speech-to-text

export interface TranscribeOptions {
  /** BCP-47-ish language hint ("en", "fr"); undefined or "auto" lets the engine detect it. */
  language?: string;
  signal?: AbortSignal;
}

export interface TranscriptSegment {
  startSec: number;
  endSec: number;
  text: string;
}

export interface Transcript {
  /** The recognised text, trimmed; "" when nothing was recognised. */
  text: string;
  /** Detected (or forced) language, when the engine knows it. */
  language?: string;
  /** 0..1, when the engine reports one. */
  confidence?: number;
  segments?: TranscriptSegment[];
  /**
   * What the user should know about how this was heard, e.g. that a less accurate engine stood in for the
   * one configured; the pipeline passes it on in the reply's notes.
   */
  note?: string;
}

export interface SpeechToText {
  /** Provider name as used in config and logs, e.g. "pocketsphinx". */
  readonly name: string;
  /** Loads the model so the first request is fast. Idempotent. */
  load(): Promise<void>;
  /** Transcribes 16 kHz mono PCM. */
  transcribe(audio: PcmAudio, options?: TranscribeOptions): Promise<Transcript>;
  /** Frees the model/process. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------- language model

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ToolCall {
  id: string;
  name: string;
  /** Raw JSON text of the arguments as the model produced it. */
  arguments: string;
}

export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** For role "assistant": tool calls it made. */
  toolCalls?: ToolCall[];
  /** For role "tool": the id of the call this answers. */
  toolCallId?: string;
  name?: string;
}

export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

export interface ChatRequest {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  temperature?: number;
  maxTokens?: number;
  signal?: AbortSignal;
}

export interface TokenUsage {
  promptTokens?: number;
  completionTokens?: number;
  /** Of the completion tokens, those spent reasoning, when the server says (completion_tokens_details). */
  reasoningTokens?: number;
}

/**
 * What a streaming chat yields. Reasoning ("thinking") is kept apart from answer text so it never reaches
 * TTS or the user, yet stays available for the turn record.
 */
export type LlmStreamEvent =
  | { type: 'reasoning'; text: string }
  | { type: 'text'; text: string }
  /**
   * Every `text` event so far was reasoning after all (a late `</think>` from a model that starts its
   * replies mid-thought): drop it from the answer; `text` is that reasoning.
   */
  | { type: 'retract'; text: string }
  | { type: 'tool_call'; call: ToolCall }
  | { type: 'done'; finishReason: string; usage?: TokenUsage };

export interface LanguageModel {
  readonly name: string;
  /** The model id in use (server model name or GGUF file). */
  readonly model: string;
  load(): Promise<void>;
  chatStream(request: ChatRequest): AsyncIterable<LlmStreamEvent>;
  close(): Promise<void>;
}

export interface ChatResult {
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
  finishReason: string;
  usage?: TokenUsage;
}

/** Drains a chat stream into one result. */
export async function collectChat(stream: AsyncIterable<LlmStreamEvent>): Promise<ChatResult> {
  const result: ChatResult = { text: '', reasoning: '', toolCalls: [], finishReason: 'unknown' };
  await drainInto(stream, result);
  return result;
}

/**
 * Drains a chat stream as collectChat does, except that a tool call the decoder could not read (broken
 * JSON in Hermes tags: MalformedOutputError) ends it without throwing: what came before is returned with
 * `malformed`, the sentence that tells the model its format error (tool loops show it as an observation).
 */
export async function collectChatOrFormatError(
  stream: AsyncIterable<LlmStreamEvent>,
): Promise<ChatResult & { malformed?: string }> {
  const result: ChatResult = { text: '', reasoning: '', toolCalls: [], finishReason: 'unknown' };
  try {
    await drainInto(stream, result);
  } catch (err) {
    if (!(err instanceof MalformedOutputError)) throw err;
    return { ...result, malformed: toolCallFormatError(err) };
  }
  return result;
}

/** The observation that tells a model its tool call could not be read. */
export function toolCallFormatError(err: MalformedOutputError): string {
  return `your tool call could not be read: ${err.message.replace(/^[\w-]+: /, '')}`;
}

async function drainInto(stream: AsyncIterable<LlmStreamEvent>, result: ChatResult): Promise<void> {
  for await (const ev of stream) {
    if (ev.type === 'text') result.text += ev.text;
    else if (ev.type === 'reasoning') result.reasoning += ev.text;
    else if (ev.type === 'retract') {
      result.reasoning += ev.text;
      result.text = '';
    } else if (ev.type === 'tool_call') result.toolCalls.push(ev.call);
    else {
      result.finishReason = ev.finishReason;
      if (ev.usage) result.usage = ev.usage;
    }
  }
}

// ---------------------------------------------------------------- text-to-speech

export interface SynthesizeOptions {
  /** Language of the text ("en", "fr"); picks the voice when `voice` is not set. */
  language?: string;
  voice?: string;
  signal?: AbortSignal;
}

export interface TextToSpeech {
  readonly name: string;
  load(): Promise<void>;
  /** Speaks `text`; returns mono PCM at the engine's native rate. */
  synthesize(text: string, options?: SynthesizeOptions): Promise<PcmAudio>;
  close(): Promise<void>;
}
