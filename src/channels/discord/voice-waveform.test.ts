import { describe, expect, it } from 'vitest';
import {
  ffprobeBuffer,
  makeTempDir,
  silentVoiceNote,
  spokenVoiceNote,
} from '../../../test/helpers/speech-fixtures.js';
import { MAX_WAVEFORM_SAMPLES, voiceMessageMeta, waveformBytes } from './voice-waveform.js';

const RATE = 16_000;

function tone(seconds: number, amplitude: number): Float32Array {
  const out = new Float32Array(Math.round(seconds * RATE));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * 440 * i) / RATE);
  return out;
}

describe('voice message waveform', () => {
  it('has ten bars a second, silent where the audio is silent and full where it is loudest', () => {
    const pcm = new Float32Array(2 * RATE);
    pcm.set(tone(1, 0.5), RATE);
    const bars = waveformBytes(pcm, RATE);
    expect(bars.length).toBe(20);
    expect([...bars.subarray(0, 10)]).toEqual(new Array(10).fill(0));
    expect([...bars.subarray(10)].every((b) => b >= 250)).toBe(true);
  });

  it('scales to the loudest part and caps at 256 bars for long audio', () => {
    const pcm = new Float32Array(60 * RATE);
    pcm.set(tone(30, 0.2), 0);
    pcm.set(tone(30, 0.8), 30 * RATE);
    const bars = waveformBytes(pcm, RATE);
    expect(bars.length).toBe(MAX_WAVEFORM_SAMPLES);
    expect(bars[0]).toBe(64);
    expect(bars.at(-1)).toBe(255);
  });

  it('is all zeros for silence (no division by zero)', () => {
    expect([...waveformBytes(new Float32Array(RATE), RATE)]).toEqual(new Array(10).fill(0));
  });

  it('measures a real OGG/Opus voice note', async () => {
    const dir = await makeTempDir();
    const speech = await spokenVoiceNote(dir, 'one two three four five six');
    const meta = await voiceMessageMeta(speech);
    const probe = await ffprobeBuffer(dir, speech, 'speech.ogg');
    expect(Math.abs(meta.durationSec - probe.duration)).toBeLessThan(0.1);
    const bars = Buffer.from(meta.waveform, 'base64');
    expect(bars.length).toBe(Math.round(meta.durationSec * 10));
    expect(Math.max(...bars)).toBe(255);
    // espeak-ng pauses between words: some bars are much quieter than the loudest
    expect(Math.min(...bars)).toBeLessThan(64);

    const silence = await voiceMessageMeta(await silentVoiceNote(dir, 1));
    expect(Buffer.from(silence.waveform, 'base64').every((b) => b === 0)).toBe(true);
  });
});
