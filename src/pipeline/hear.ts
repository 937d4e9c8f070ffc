/**
 * The listening half of a voice turn, the README's stages decode → VAD → STT. Returns what was heard, or
 * why nothing was, and the timings of the stages it ran.
 *
 * The speech gate is Silero VAD when the deps carry one (the energy gate when it cannot be had); with
 * Silero's segments the silence before and after the speech is trimmed (keeping TRIM_MARGIN_MS) before
 * STT: less audio to transcribe, and Whisper hallucinates less on silence.
 */
import { decodeAudio, EnergySpeechGate, trimToSpeech, type SpeechGate } from '../audio/index.js';
import type { Logger } from '../observability/logger.js';
import type { VoiceMetrics } from '../observability/metrics.js';
import type { SpeechToText, Transcript } from '../providers/types.js';
import { runStage } from './stage.js';
import type { PipelineConfig, TurnFrame } from './turn-context.js';
import type { TurnTimings } from './types.js';

export type Heard =
  | { kind: 'speech'; transcript: Transcript; text: string }
  | { kind: 'no_speech' }
  | { kind: 'empty_transcript'; transcript: Transcript };

export interface HearDeps {
  stt: SpeechToText;
  config: Pick<
    PipelineConfig,
    | 'audioMaxBytes'
    | 'audioMaxSeconds'
    | 'decodeTimeoutMs'
    | 'vadThresholdDb'
    | 'vadMinSpeechMs'
    | 'sttTimeoutMs'
  >;
  logger: Logger;
  metrics: Pick<VoiceMetrics, 'sttDuration'>;
  /** Silero VAD (with the energy gate as its fallback); the energy gate alone when absent. */
  speechGate?: SpeechGate;
}

/** Audio kept before the first and after the last speech segment when trimming. */
export const TRIM_MARGIN_MS = 250;
const energyGate = new EnergySpeechGate();

export type HearTimings = Pick<TurnTimings, 'decodeMs' | 'inputAudioSec' | 'vadMs' | 'sttMs'>;

/** What the speech gate decided: which detector, and how much audio went to STT after trimming. */
export interface HeardGate {
  by: 'silero' | 'energy';
  /** Seconds of audio given to STT (after trimming); absent when STT was skipped. */
  sttAudioSec?: number;
}

export async function hear(
  { stt, config, logger, metrics, speechGate = energyGate }: HearDeps,
  turn: TurnFrame,
  audio: Buffer,
  languageHint: string,
): Promise<{ heard: Heard; timings: HearTimings; gate: HeardGate }> {
  const timings: HearTimings = {};
  const decoded = await runStage(
    turn,
    {
      stage: 'decode',
      span: 'voice.decode',
      attributes: { 'audio.input_bytes': audio.length },
      timeoutMs: config.decodeTimeoutMs,
    },
    async ({ signal, span }) => {
      const d = await decodeAudio(audio, {
        maxBytes: config.audioMaxBytes,
        maxSeconds: config.audioMaxSeconds,
        signal,
        logger,
      });
      span?.setAttributes({ 'audio.format': d.format, 'audio.duration_sec': d.durationSec });
      return d;
    },
  );
  timings.decodeMs = decoded.ms;
  timings.inputAudioSec = decoded.value.durationSec;
  const pcm = decoded.value.pcm;

  const vad = await runStage(turn, { stage: 'vad' }, () =>
    speechGate.detect(pcm, { thresholdDb: config.vadThresholdDb, minSpeechMs: config.vadMinSpeechMs }),
  );
  timings.vadMs = vad.ms;
  turn.root.setAttributes({ 'audio.speech_ms': vad.value.speechMs, 'audio.vad': vad.value.by });
  if (!vad.value.hasSpeech) {
    logger.info(
      { speechMs: vad.value.speechMs, rmsDb: vad.value.rmsDb, vad: vad.value.by },
      'no speech detected; STT skipped',
    );
    return { heard: { kind: 'no_speech' }, timings, gate: { by: vad.value.by } };
  }
  const speech = vad.value.segments ? trimToSpeech(pcm, vad.value.segments, TRIM_MARGIN_MS) : pcm;
  const gate: HeardGate = { by: vad.value.by, sttAudioSec: speech.samples.length / speech.sampleRate };

  const result = await runStage(
    turn,
    {
      stage: 'stt',
      span: 'stt.transcribe',
      attributes: { 'stt.provider': stt.name, 'audio.duration_sec': decoded.value.durationSec },
      timeoutMs: config.sttTimeoutMs,
      metric: (s) => metrics.sttDuration.observe({ provider: stt.name }, s),
    },
    async ({ signal, span }) => {
      const t = await stt.transcribe(speech, { language: languageHint, signal });
      span?.setAttributes({ 'stt.language': t.language ?? 'unknown', 'stt.text_length': t.text.length });
      return t;
    },
  );
  timings.sttMs = result.ms;
  const transcript = result.value;
  turn.emit({ type: 'transcript', transcript });
  const text = transcript.text.trim();
  const heard: Heard = text ? { kind: 'speech', transcript, text } : { kind: 'empty_transcript', transcript };
  return { heard, timings, gate };
}
