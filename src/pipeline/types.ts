import type { ChatMessage, PcmAudio, ToolCall, ToolDefinition, Transcript } from '../providers/types.js';

export type ReplyFormat = 'ogg' | 'mp3' | 'wav';

/**
 * A tool the caller offers the chat model for this turn (e.g. delegating a coding task). The pipeline
 * only passes the definition to the model and, when the model calls it, runs `call` with the raw JSON
 * arguments; what `call` answers is said to the user after the model's own words (or instead of them).
 */
export interface TurnTool {
  definition: ToolDefinition;
  call(argumentsJson: string): Promise<string>;
}

export interface TurnInputBase {
  /** Where the turn came from (cli, telegram, discord, web); a metrics label. */
  platform?: string;
  /**
   * Earlier messages of this conversation, oldest first (no system prompt), already cut to what should be
   * sent: the caller decides how much history the LLM sees; the pipeline sends all of it.
   */
  history?: ChatMessage[];
  /** Language hint for STT and the TTS voice ("auto" to detect). */
  language?: string;
  /** Produce a spoken reply: decided by the caller (its channel's voice policy), never by the pipeline. */
  speak: boolean;
  replyFormat?: ReplyFormat;
  signal?: AbortSignal;
  /** Live events (stage timings, transcript, streamed text). */
  onEvent?: (event: TurnEvent) => void;
  /** Tools offered to the model in this turn (decided by the caller); none by default. */
  tools?: TurnTool[];
}

export type TurnInput =
  (TurnInputBase & { kind: 'audio'; audio: Buffer }) | (TurnInputBase & { kind: 'text'; text: string });

export type Stage = 'decode' | 'vad' | 'stt' | 'llm' | 'tts' | 'encode';

export type TurnEvent =
  | { type: 'stage_start'; stage: Stage; atMs: number }
  | { type: 'stage_end'; stage: Stage; atMs: number; durationMs: number; ok: boolean }
  | { type: 'transcript'; transcript: Transcript }
  | { type: 'reasoning_delta'; text: string }
  | { type: 'text_delta'; text: string }
  | { type: 'sentence'; index: number; text: string }
  /**
   * The answer streamed so far (sentences 0..sentences-1 and their text deltas) was the model thinking:
   * take it back from whatever shows it. Later sentences keep counting from `sentences`.
   */
  | { type: 'retract'; sentences: number }
  /** A sentence's audio is ready (`pcm`: the samples, for callers that play the reply as it comes). */
  | { type: 'audio_chunk'; index: number; durationSec: number; atMs: number; pcm?: PcmAudio }
  | { type: 'note'; message: string };

/** Milliseconds; absent when the stage did not run. */
export interface TurnTimings {
  decodeMs?: number;
  vadMs?: number;
  sttMs?: number;
  llmFirstTokenMs?: number;
  llmFirstAnswerTokenMs?: number;
  llmTotalMs?: number;
  /** How long the first sentence took to synthesize. */
  ttsFirstChunkMs?: number;
  ttsTotalMs?: number;
  encodeMs?: number;
  /** From turn start to the first sentence of reply audio being ready. */
  timeToFirstAudioMs?: number;
  totalMs: number;
  /** Wall time not spent inside a model/codec stage: June's own orchestration cost. */
  overheadMs: number;
  /** Length of the input audio, seconds. */
  inputAudioSec?: number;
  /** Length of the reply audio, seconds. */
  replyAudioSec?: number;
}

/** A spoken reply, encoded. */
export interface ReplyAudio {
  format: ReplyFormat;
  mimeType: string;
  data: Buffer;
  durationSec: number;
}

export type TurnStatus = 'ok' | 'no_speech' | 'empty_transcript';

export interface TurnResult {
  status: TurnStatus;
  /** The user's words (the transcript for audio, the text for text turns). */
  userText: string;
  transcript?: Transcript;
  /** The answer shown to the user (no reasoning, no tool-call markup). */
  text: string;
  /** The model's reasoning, kept for the turn record only. */
  reasoning: string;
  toolCalls: ToolCall[];
  language?: string;
  audio?: ReplyAudio;
  /** Degradations the user should know of (e.g. "voice unavailable, text only"). */
  notes: string[];
  timings: TurnTimings;
  /** The messages this turn adds to the conversation (the user's and the reply); none for a fixed reply. */
  newMessages: ChatMessage[];
  llmModel: string;
}
