/**
 * The speaking half, the README's stages TTS → encode: sentences are synthesised one by one while the LLM
 * still writes (tts-stream.ts), then joined and encoded as the voice note. A TTS failure is no turn
 * failure: the reply goes out as text with a note saying why there is no voice.
 */
import { audioDurationSec, concatPcm, encodeAudio, mimeTypeFor } from '../audio/index.js';
import type { Logger } from '../observability/logger.js';
import type { VoiceMetrics } from '../observability/metrics.js';
import type { TextToSpeech } from '../providers/types.js';
import { CancelledError, toJuneError } from '../util/errors.js';
import { REPLIES } from './replies.js';
import { runStage } from './stage.js';
import { synthesizeSentences, type TtsStream } from './tts-stream.js';
import type { PipelineConfig, TurnFrame } from './turn-context.js';
import type { ReplyAudio, ReplyFormat, TurnTimings } from './types.js';

export interface SpeakDeps {
  tts: TextToSpeech;
  config: Pick<PipelineConfig, 'ttsTimeoutMs'>;
  logger: Logger;
  metrics: Pick<VoiceMetrics, 'ttsDuration' | 'errors'>;
}

export type SpeakTimings = Pick<
  TurnTimings,
  'ttsTotalMs' | 'ttsFirstChunkMs' | 'timeToFirstAudioMs' | 'encodeMs' | 'replyAudioSec'
>;

export interface Spoken {
  /** The voice note; absent when TTS failed (see `note`) or there was nothing to say. */
  audio?: ReplyAudio;
  /** Why there is no voice, for the user. */
  note?: string;
  timings: SpeakTimings;
}

/** Starts speaking: push sentences as they are final. `quiet` sends no audio_chunk events. */
export function startSpeaking(
  { tts, config, logger }: SpeakDeps,
  turn: TurnFrame,
  language: string | undefined,
  options: { quiet?: boolean } = {},
): TtsStream {
  return synthesizeSentences(tts, {
    language,
    timeoutMs: config.ttsTimeoutMs,
    signal: turn.signal,
    clock: turn.clock,
    emit: options.quiet ? () => undefined : turn.emit,
    logger,
    parentSpan: turn.root,
  });
}

/** Waits for the last sentence, then joins and encodes them; or says why there is no voice. */
export async function finishSpeaking(
  { tts, logger, metrics }: SpeakDeps,
  turn: TurnFrame,
  stream: TtsStream,
  format: ReplyFormat,
): Promise<Spoken> {
  turn.stage = 'tts';
  const outcome = await stream.finish();
  const timings: SpeakTimings = { ttsTotalMs: outcome.busyMs };
  for (const i of outcome.intervals) turn.clock.busy.push(i);
  if (outcome.firstChunkMs !== undefined) timings.ttsFirstChunkMs = outcome.firstChunkMs;
  if (outcome.firstAudioAtMs !== undefined) timings.timeToFirstAudioMs = outcome.firstAudioAtMs;
  for (const ms of outcome.perSentenceMs) metrics.ttsDuration.observe({ provider: tts.name }, ms / 1000);
  if (outcome.error !== undefined) {
    const e = toJuneError(outcome.error);
    if (e instanceof CancelledError) throw e;
    metrics.errors.inc({ service: 'tts', error_type: e.code });
    logger.warn({ code: e.code, err: e.message }, 'TTS failed; replying with text only');
    return { note: `${REPLIES.ttsFailed} (${e.message})`, timings };
  }
  if (outcome.chunks.length === 0) return { timings };

  const pcm = concatPcm(outcome.chunks, 120);
  const durationSec = audioDurationSec(pcm);
  const encoded = await runStage(
    turn,
    {
      stage: 'encode',
      span: 'audio.encode',
      attributes: { 'audio.format': format, 'audio.duration_sec': durationSec },
    },
    async ({ signal, span }) => {
      const data = await encodeAudio(pcm, format, { signal });
      span?.setAttribute('audio.output_bytes', data.length);
      return data;
    },
  );
  timings.encodeMs = encoded.ms;
  timings.replyAudioSec = durationSec;
  return { audio: { format, mimeType: mimeTypeFor(format), data: encoded.value, durationSec }, timings };
}
