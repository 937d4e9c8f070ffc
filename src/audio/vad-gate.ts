/**
 * The speech gate in front of speech-to-text: Silero VAD when its model can be had, the energy gate
 * (vad.ts) otherwise. The Silero model is found or downloaded on first use through a callback, so this
 * layer knows nothing of the model cache; when that or the model fails, the gate says so once in the
 * log and keeps answering with the energy gate.
 */
import type { PcmAudio } from './pcm-audio.js';
import { detectSpeech, type SpeechDetectionOptions } from './vad.js';
import { SILERO_SAMPLE_RATE, SileroVad, type SileroOptions } from './vad-silero.js';

export interface GateDecision {
  hasSpeech: boolean;
  speechMs: number;
  /** Which detector decided: "silero" or "energy". */
  by: 'silero' | 'energy';
  /** Speech segments (Silero only), in seconds, for trimming. */
  segments?: Array<{ startSec: number; endSec: number }>;
  rmsDb?: number;
}

export interface SpeechGate {
  detect(pcm: PcmAudio, energy?: SpeechDetectionOptions): Promise<GateDecision>;
  /** Why Silero is not in use, once it has been tried and failed; undefined while it works. */
  readonly unavailable: string | undefined;
}

/** The energy gate alone (JUNE_VAD=energy). */
export class EnergySpeechGate implements SpeechGate {
  readonly unavailable = undefined;
  detect(pcm: PcmAudio, energy: SpeechDetectionOptions = {}): Promise<GateDecision> {
    const d = detectSpeech(pcm, energy);
    return Promise.resolve({ hasSpeech: d.hasSpeech, speechMs: d.speechMs, rmsDb: d.rmsDb, by: 'energy' });
  }
}

export interface SileroGateOptions {
  /** The .onnx file (found or downloaded on first use). */
  modelPath: () => Promise<string>;
  silero?: SileroOptions;
  /** Told once when Silero cannot be had and the energy gate takes over. */
  onUnavailable?: (reason: string) => void;
}

/** Silero VAD, with the energy gate as the fallback when the model cannot be had. */
export class SileroSpeechGate implements SpeechGate {
  private vad: Promise<SileroVad> | undefined;
  private failure: string | undefined;
  private readonly energy = new EnergySpeechGate();

  constructor(private readonly options: SileroGateOptions) {}

  get unavailable(): string | undefined {
    return this.failure;
  }

  /** Loads the model now (warm-up); never throws, a failure switches to the energy gate. */
  async load(): Promise<boolean> {
    return (await this.model()) !== undefined;
  }

  private async model(): Promise<SileroVad | undefined> {
    if (this.failure) return undefined;
    this.vad ??= this.options.modelPath().then((p) => SileroVad.load(p));
    try {
      return await this.vad;
    } catch (err) {
      if (!this.failure) {
        // Concurrent first requests share the one attempt; only the first to see it fail tells.
        this.failure = err instanceof Error ? err.message : String(err);
        this.options.onUnavailable?.(this.failure);
      }
      return undefined;
    }
  }

  async detect(pcm: PcmAudio, energy: SpeechDetectionOptions = {}): Promise<GateDecision> {
    const vad = pcm.sampleRate === SILERO_SAMPLE_RATE ? await this.model() : undefined;
    if (!vad) return this.energy.detect(pcm, energy);
    const minSpeechMs = energy.minSpeechMs ?? 250;
    const d = await vad.detect(pcm, { ...this.options.silero, minSpeechMs });
    return { hasSpeech: d.hasSpeech, speechMs: d.speechMs, segments: d.segments, by: 'silero' };
  }
}
