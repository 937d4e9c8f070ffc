/**
 * The listening half of a voice turn: decode → VAD → STT. Returns what was heard, or why nothing was.
 */
import { decodeAudio, detectSpeech } from '../audio/index.js';
import { inSpan } from '../observability/tracing.js';
import type { Transcript } from '../providers/types.js';
import { stageSignal } from '../util/abort.js';
import { JuneError } from '../util/errors.js';
import type { TurnContext } from './turn-context.js';

export type Heard =
  | { kind: 'speech'; transcript: Transcript; text: string }
  | { kind: 'no_speech' }
  | { kind: 'empty_transcript'; transcript: Transcript };

/** Runs `fn` with a stage signal; a stage timeout surfaces as its StageTimeoutError, not a cancel. */
export async function withStageSignal<T>(
  stage: string,
  ms: number,
  parent: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const s = stageSignal(stage, ms, parent);
  try {
    return await fn(s.signal);
  } catch (err) {
    throw s.signal.aborted && s.signal.reason instanceof JuneError && !parent?.aborted
      ? s.signal.reason
      : err;
  } finally {
    s.dispose();
  }
}

export async function hear(turn: TurnContext, audio: Buffer, languageHint: string): Promise<Heard> {
  const { config, clock, root, timings, input } = turn;

  turn.stage = 'decode';
  const decoded = await clock.stage('decode', () =>
    inSpan('voice.decode', root, { 'audio.input_bytes': audio.length }, (span) =>
      withStageSignal('decode', config.decodeTimeoutMs, input.signal, async (signal) => {
        const d = await decodeAudio(audio, {
          maxBytes: config.audioMaxBytes,
          maxSeconds: config.audioMaxSeconds,
          signal,
          logger: turn.logger,
        });
        span.setAttributes({ 'audio.format': d.format, 'audio.duration_sec': d.durationSec });
        return d;
      }),
    ),
  );
  timings.decodeMs = decoded.ms;
  timings.inputAudioSec = decoded.value.durationSec;
  const pcm = decoded.value.pcm;

  turn.stage = 'vad';
  const vad = await clock.stage('vad', async () =>
    detectSpeech(pcm, { thresholdDb: config.vadThresholdDb, minSpeechMs: config.vadMinSpeechMs }),
  );
  timings.vadMs = vad.ms;
  root.setAttribute('audio.speech_ms', vad.value.speechMs);
  if (!vad.value.hasSpeech) {
    turn.logger.info(
      { speechMs: vad.value.speechMs, rmsDb: vad.value.rmsDb },
      'no speech detected; STT skipped',
    );
    return { kind: 'no_speech' };
  }

  turn.stage = 'stt';
  const { stt } = turn.deps;
  const result = await clock.stage('stt', () =>
    inSpan(
      'stt.transcribe',
      root,
      { 'stt.provider': stt.name, 'audio.duration_sec': decoded.value.durationSec },
      (span) =>
        withStageSignal('stt', config.sttTimeoutMs, input.signal, async (signal) => {
          const t = await stt.transcribe(pcm, { language: languageHint, signal });
          span.setAttributes({ 'stt.language': t.language ?? 'unknown', 'stt.text_length': t.text.length });
          return t;
        }),
    ),
  );
  timings.sttMs = result.ms;
  turn.metrics.sttDuration.observe({ provider: stt.name }, result.ms / 1000);
  const transcript = result.value;
  turn.emit({ type: 'transcript', transcript });
  const text = transcript.text.trim();
  return text ? { kind: 'speech', transcript, text } : { kind: 'empty_transcript', transcript };
}
