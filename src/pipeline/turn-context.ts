/**
 * What every stage of one turn shares, and no more: the clock that times stages (and records their busy
 * intervals so June's own overhead can be computed), the root span, the event sink, the caller's signal and
 * the name of the stage now running. Stages get their engines and settings as arguments of their own, and
 * return their timings; only the pipeline assembles the turn's result.
 */
import type { Span } from '@opentelemetry/api';
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { VoiceMetrics } from '../observability/metrics.js';
import type { LanguageModel, SpeechToText, TextToSpeech } from '../providers/types.js';
import type { SpeechGate } from '../audio/index.js';
import type { Stage, TurnEvent } from './types.js';

export type PipelineConfig = Pick<
  JuneConfig,
  | 'systemPrompt'
  | 'audioMaxBytes'
  | 'audioMaxSeconds'
  | 'vadThresholdDb'
  | 'vadMinSpeechMs'
  | 'replyFormat'
  | 'decodeTimeoutMs'
  | 'sttTimeoutMs'
  | 'llmTimeoutMs'
  | 'ttsTimeoutMs'
  | 'sttLanguage'
  | 'llmTemperature'
  | 'llmMaxTokens'
>;

export interface VoicePipelineDeps {
  stt: SpeechToText;
  llm: LanguageModel;
  tts: TextToSpeech;
  config: PipelineConfig;
  logger?: Logger;
  metrics?: VoiceMetrics;
  /** Silero VAD with the energy gate as its fallback (hear.ts); the energy gate alone when absent. */
  speechGate?: SpeechGate;
}

export class TurnClock {
  readonly t0 = performance.now();
  /** [start, end) of every model/codec stage, in turn-clock ms. */
  readonly busy: Array<[number, number]> = [];

  constructor(private readonly emit: (e: TurnEvent) => void) {}

  now(): number {
    return performance.now() - this.t0;
  }

  /** Runs one stage, emitting start/end events and recording its interval. */
  async stage<T>(stage: Stage, fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
    const start = this.now();
    this.emit({ type: 'stage_start', stage, atMs: start });
    let ok = false;
    try {
      const value = await fn();
      ok = true;
      return { value, ms: this.now() - start };
    } finally {
      const end = this.now();
      this.busy.push([start, end]);
      this.emit({ type: 'stage_end', stage, atMs: end, durationMs: end - start, ok });
    }
  }
}

export interface TurnFrame {
  readonly clock: TurnClock;
  readonly root: Span;
  readonly emit: (e: TurnEvent) => void;
  /** The caller's cancellation. */
  readonly signal: AbortSignal | undefined;
  /** The stage now running, for error metrics. */
  stage: string;
}
