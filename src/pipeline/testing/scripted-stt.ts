/**
 * A SpeechToText that hears what it is told to: each request takes the next scripted transcript (or
 * error), and `defaultText` once the script is used up. Silence (RMS below about -50 dBFS) gives "" as a
 * real recogniser does, without using up the script. For fast turn tests; it passes the shared
 * SpeechToText behaviour suite without its content checks (it recognises nothing).
 */
import type { PcmAudio, SpeechToText, Transcript, TranscribeOptions } from '../../providers/types.js';
import { work } from './work.js';

export type ScriptedHearing = string | Transcript | Error;

export interface ScriptedSpeechToTextOptions {
  /** What the next requests hear, in order. */
  script?: ScriptedHearing[];
  /** What is heard once the script is used up. Default "what is the weather like today". */
  defaultText?: string;
  /** Engine time per second of audio. Default 0. */
  msPerAudioSecond?: number;
}

const SILENCE_RMS = 0.003;

export class ScriptedSpeechToText implements SpeechToText {
  readonly name = 'scripted-stt';
  /** Every request's audio, in order. */
  readonly requests: PcmAudio[] = [];
  private readonly script: ScriptedHearing[];

  constructor(private readonly options: ScriptedSpeechToTextOptions = {}) {
    this.script = [...(options.script ?? [])];
  }

  /** Queues what the next requests hear. */
  hear(...hearings: ScriptedHearing[]): this {
    this.script.push(...hearings);
    return this;
  }

  async load(): Promise<void> {}

  async transcribe(audio: PcmAudio, options: TranscribeOptions = {}): Promise<Transcript> {
    this.requests.push(audio);
    const seconds = audio.samples.length / audio.sampleRate;
    await work(seconds * (this.options.msPerAudioSecond ?? 0), options.signal);
    if (rms(audio.samples) < SILENCE_RMS) return { text: '', language: 'en' };
    const next = this.script.shift() ?? this.options.defaultText ?? 'what is the weather like today';
    if (next instanceof Error) throw next;
    const t = typeof next === 'string' ? { text: next, language: 'en' } : next;
    return { ...t, text: t.text.trim() };
  }

  async close(): Promise<void> {}
}

function rms(samples: Float32Array): number {
  let sum = 0;
  for (const v of samples) sum += v * v;
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}
