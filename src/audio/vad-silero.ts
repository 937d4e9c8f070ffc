/**
 * Silero VAD v6 (MIT) as the speech gate: a small neural model that tells speech from tones, hum, music,
 * noise and clicks far better than the energy gate in vad.ts, and finds where the speech starts and
 * ends so the silence around it can be trimmed before speech-to-text (cheaper; Whisper hallucinates less
 * on silence).
 *
 * sherpa-onnx 1.13.8's Vad refuses v6 ("Unsupported silero vad model"), so the model runs through
 * onnxruntime-node, loaded lazily. The v6 export (faster-whisper's asset) takes a batch of 512-sample
 * windows at 16 kHz, each preceded by the previous window's last 64 samples: input float[n,576], with
 * LSTM state h, c float[1,1,128]; it returns speech_probs float[n], hn, cn.
 *
 * Segments follow Silero's get_speech_timestamps: speech starts when a window's probability reaches
 * `threshold`, ends after `minSilenceMs` below `threshold - 0.15`; segments shorter than `minSpeechMs`
 * are dropped.
 */
import { createRequire } from 'node:module';
import type { PcmAudio } from './pcm-audio.js';

export const SILERO_SAMPLE_RATE = 16_000;
const WINDOW = 512;
const CONTEXT = 64;
const STATE = 128;

export interface SileroOptions {
  /** Probability at which a window counts as speech (default 0.5). */
  threshold?: number;
  /** Shortest speech segment kept, ms (default 250). */
  minSpeechMs?: number;
  /** Silence that ends a segment, ms (default 300). */
  minSilenceMs?: number;
}

export interface SileroDetection {
  hasSpeech: boolean;
  /** Total length of the speech segments, ms. */
  speechMs: number;
  /** Speech segments, in seconds from the start of the clip. */
  segments: Array<{ startSec: number; endSec: number }>;
  /** The speech probability of each 32 ms window. */
  probabilities: Float32Array;
}

interface OrtTensor {
  readonly data: unknown;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
}
interface OrtModule {
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: {
    create(
      path: string,
      options?: { intraOpNumThreads?: number; interOpNumThreads?: number },
    ): Promise<OrtSession>;
  };
}

let ortModule: OrtModule | undefined;
function ort(): OrtModule {
  ortModule ??= createRequire(import.meta.url)('onnxruntime-node') as OrtModule;
  return ortModule;
}

export class SileroVad {
  private constructor(private readonly session: OrtSession) {}

  /** Loads the model file (throws when onnxruntime-node or the file cannot be had). */
  static async load(modelPath: string): Promise<SileroVad> {
    const session = await ort().InferenceSession.create(modelPath, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    return new SileroVad(session);
  }

  /** The speech probability of each 512-sample window of 16 kHz `samples` (a short tail is zero-padded). */
  async probabilities(samples: Float32Array): Promise<Float32Array> {
    const n = Math.ceil(samples.length / WINDOW);
    if (n === 0) return new Float32Array(0);
    const input = new Float32Array(n * (WINDOW + CONTEXT));
    for (let w = 0; w < n; w++) {
      const row = w * (WINDOW + CONTEXT);
      const start = w * WINDOW;
      if (w > 0) input.set(samples.subarray(start - CONTEXT, start), row);
      input.set(samples.subarray(start, Math.min(samples.length, start + WINDOW)), row + CONTEXT);
    }
    const { Tensor } = ort();
    const out = await this.session.run({
      input: new Tensor('float32', input, [n, WINDOW + CONTEXT]),
      h: new Tensor('float32', new Float32Array(STATE), [1, 1, STATE]),
      c: new Tensor('float32', new Float32Array(STATE), [1, 1, STATE]),
    });
    const probs = out['speech_probs']?.data;
    if (!(probs instanceof Float32Array)) throw new Error('Silero VAD returned no speech_probs');
    return probs;
  }

  async detect(pcm: PcmAudio, options: SileroOptions = {}): Promise<SileroDetection> {
    if (pcm.sampleRate !== SILERO_SAMPLE_RATE)
      throw new Error(`Silero VAD needs 16 kHz audio, got ${pcm.sampleRate} Hz`);
    const probabilities = await this.probabilities(pcm.samples);
    const segments = speechSegments(probabilities, pcm.samples.length / SILERO_SAMPLE_RATE, options);
    const speechMs = Math.round(segments.reduce((sum, s) => sum + (s.endSec - s.startSec), 0) * 1000);
    return { hasSpeech: segments.length > 0, speechMs, segments, probabilities };
  }
}

/** Silero's get_speech_timestamps on window probabilities (32 ms each). */
export function speechSegments(
  probs: Float32Array,
  durationSec: number,
  { threshold = 0.5, minSpeechMs = 250, minSilenceMs = 300 }: SileroOptions = {},
): Array<{ startSec: number; endSec: number }> {
  const windowSec = WINDOW / SILERO_SAMPLE_RATE;
  const negThreshold = Math.max(threshold - 0.15, 0.01);
  const segments: Array<{ startSec: number; endSec: number }> = [];
  let start = -1;
  let silenceSince = -1;
  const close = (endWindow: number) => {
    const seg = { startSec: start * windowSec, endSec: Math.min(durationSec, endWindow * windowSec) };
    if ((seg.endSec - seg.startSec) * 1000 >= minSpeechMs) segments.push(seg);
    start = -1;
    silenceSince = -1;
  };
  probs.forEach((p, i) => {
    if (p >= threshold) {
      if (start < 0) start = i;
      silenceSince = -1;
    } else if (start >= 0 && p < negThreshold) {
      if (silenceSince < 0) silenceSince = i;
      if ((i + 1 - silenceSince) * windowSec * 1000 >= minSilenceMs) close(silenceSince);
    }
  });
  if (start >= 0) close(silenceSince >= 0 ? silenceSince : probs.length);
  return segments;
}

/**
 * `pcm` without the silence before the first and after the last speech segment, keeping `marginMs` on
 * each side; unchanged when there is no segment.
 */
export function trimToSpeech(
  pcm: PcmAudio,
  segments: ReadonlyArray<{ startSec: number; endSec: number }>,
  marginMs = 200,
): PcmAudio {
  const first = segments[0];
  const last = segments[segments.length - 1];
  if (!first || !last) return pcm;
  const margin = (marginMs / 1000) * pcm.sampleRate;
  const from = Math.max(0, Math.floor(first.startSec * pcm.sampleRate - margin));
  const to = Math.min(pcm.samples.length, Math.ceil(last.endSec * pcm.sampleRate + margin));
  if (from === 0 && to === pcm.samples.length) return pcm;
  return { sampleRate: pcm.sampleRate, samples: pcm.samples.slice(from, to) };
}
