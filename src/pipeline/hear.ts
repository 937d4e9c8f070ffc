/**
 * The listening half of a voice turn, the README's stages decode → VAD → STT. Returns what was heard, or
 * why nothing was, and the timings of the stages it ran.
 */
import { decodeAudio, detectSpeech } from '../audio/index.js';
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
}

export type HearTimings = Pick<TurnTimings, 'decodeMs' | 'inputAudioSec' | 'vadMs' | 'sttMs'>;

export async function hear(
  { stt, config, logger, metrics }: HearDeps,
  turn: TurnFrame,
  audio: Buffer,
  languageHint: string,
): Promise<{ heard: Heard; timings: HearTimings }> {
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

  const vad = await runStage(turn, { stage: 'vad' }, async () =>
    detectSpeech(pcm, { thresholdDb: config.vadThresholdDb, minSpeechMs: config.vadMinSpeechMs }),
  );
  timings.vadMs = vad.ms;
  turn.root.setAttribute('audio.speech_ms', vad.value.speechMs);
  if (!vad.value.hasSpeech) {
    logger.info({ speechMs: vad.value.speechMs, rmsDb: vad.value.rmsDb }, 'no speech detected; STT skipped');
    return { heard: { kind: 'no_speech' }, timings };
  }

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
      const t = await stt.transcribe(pcm, { language: languageHint, signal });
      span?.setAttributes({ 'stt.language': t.language ?? 'unknown', 'stt.text_length': t.text.length });
      return t;
    },
  );
  timings.sttMs = result.ms;
  const transcript = result.value;
  turn.emit({ type: 'transcript', transcript });
  const text = transcript.text.trim();
  const heard: Heard = text ? { kind: 'speech', transcript, text } : { kind: 'empty_transcript', transcript };
  return { heard, timings };
}
