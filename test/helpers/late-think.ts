/**
 * Shared by the end-to-end tests of a model that starts its replies mid-thought (see
 * `scenarios.lateCloseThought`): the served names to try, and how long the spoken answer may be.
 */
import { expect } from 'vitest';
import { EspeakTextToSpeech } from '../../src/providers/tts/espeak.js';
import { LATE_ANSWER, LATE_THOUGHT } from './fake-openai-scenarios.js';

/** Qwen3-Thinking-2507 as servers name it: bare, generic, and the full name that says Thinking. */
export const SERVED_NAMES = ['qwen3', 'model', 'Qwen/Qwen3-30B-A3B-Thinking-2507'];

export interface SpokenLengths {
  /** Seconds of espeak-ng speech for the answer alone. */
  answer: number;
  /** Seconds for the thought alone. */
  thought: number;
}

/** Speaks the answer and the thought with espeak-ng, the engine the tests reply with. */
export async function spokenLengths(): Promise<SpokenLengths> {
  const tts = new EspeakTextToSpeech();
  try {
    const seconds = async (text: string) => {
      const pcm = await tts.synthesize(text);
      return pcm.samples.length / pcm.sampleRate;
    };
    return { answer: await seconds(LATE_ANSWER), thought: await seconds(LATE_THOUGHT) };
  } finally {
    await tts.close();
  }
}

/** A voice note of `durationSec` holds the answer and nothing of the thought. */
export function expectAnswerOnly(durationSec: number, lengths: SpokenLengths): void {
  // the thought is several times longer than the answer, so even one sentence of it would show
  expect(lengths.thought).toBeGreaterThan(4 * lengths.answer);
  expect(durationSec).toBeGreaterThan(0.5 * lengths.answer);
  expect(durationSec).toBeLessThan(1.5 * lengths.answer + 0.5);
}
