/**
 * A TextToSpeech that "speaks" a tone as long as the text: 0.3 s plus 60 ms per letter or digit, markup
 * tags left out, and empty audio when nothing is pronounceable, as the behaviour suite asks of every
 * engine. Scripted failures (`failOn`) let tests break it on the sentences they choose. Every text it was
 * given is recorded. For fast turn tests; it passes the shared TextToSpeech behaviour suite without the
 * intelligibility check (a tone says nothing).
 */
import type { PcmAudio, SynthesizeOptions, TextToSpeech } from '../../providers/types.js';
import { work } from './work.js';

export interface ScriptedTextToSpeechOptions {
  /** Fails the sentences for which this returns an error. */
  failOn?: (text: string) => Error | undefined;
  /** Engine time per second of audio. Default 0. */
  msPerAudioSecond?: number;
}

export const SCRIPTED_TTS_RATE = 16_000;

/** Seconds of tone for `text`: 0 when nothing in it can be said. */
export function scriptedSpeechSeconds(text: string): number {
  const letters = text.replace(/<[^>]*>/g, ' ').match(/[\p{L}\p{N}]/gu)?.length ?? 0;
  return letters === 0 ? 0 : 0.3 + 0.06 * letters;
}

export class ScriptedTextToSpeech implements TextToSpeech {
  readonly name = 'scripted-tts';
  /** Every text synthesised, in order (failed ones too). */
  readonly spoken: string[] = [];

  constructor(private readonly options: ScriptedTextToSpeechOptions = {}) {}

  async load(): Promise<void> {}

  async synthesize(text: string, options: SynthesizeOptions = {}): Promise<PcmAudio> {
    this.spoken.push(text);
    const seconds = scriptedSpeechSeconds(text);
    await work(seconds * (this.options.msPerAudioSecond ?? 0), options.signal);
    const failure = this.options.failOn?.(text);
    if (failure) throw failure;
    const samples = new Float32Array(Math.round(seconds * SCRIPTED_TTS_RATE));
    for (let i = 0; i < samples.length; i++)
      samples[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / SCRIPTED_TTS_RATE);
    return { sampleRate: SCRIPTED_TTS_RATE, samples };
  }

  async close(): Promise<void> {}
}
