import { describe, expect, it } from 'vitest';
import type { PcmAudio } from './pcm-audio.js';
import {
  amplitudeToDb,
  audioDurationSec,
  concatPcm,
  float32ToLeBytes,
  leBytesToFloat32,
  resamplePcm,
} from './pcm.js';
import { resampleWithFfmpeg, FixtureDir } from './test-fixtures.js';

function sine(hz: number, rate: number, seconds: number, amplitude = 0.5): PcmAudio {
  const samples = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < samples.length; i++) samples[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / rate);
  return { sampleRate: rate, samples };
}

/** Estimated frequency from upward zero crossings. */
function frequencyOf(pcm: PcmAudio): number {
  let crossings = 0;
  for (let i = 1; i < pcm.samples.length; i++)
    if (pcm.samples[i - 1]! < 0 && pcm.samples[i]! >= 0) crossings++;
  return crossings / audioDurationSec(pcm);
}

describe('audioDurationSec', () => {
  it('is samples / rate, and 0 for empty audio', () => {
    expect(audioDurationSec(sine(440, 22050, 1.5))).toBeCloseTo(1.5, 6);
    expect(audioDurationSec({ sampleRate: 16000, samples: new Float32Array(0) })).toBe(0);
  });
});

describe('resamplePcm', () => {
  it.each([
    [22050, 16000],
    [16000, 48000],
    [44100, 8000],
  ])('%i → %i Hz keeps length and pitch', (from, to) => {
    const input = sine(300, from, 2);
    const out = resamplePcm(input, to);
    expect(out.sampleRate).toBe(to);
    expect(audioDurationSec(out)).toBeCloseTo(2, 3);
    expect(frequencyOf(out)).toBeCloseTo(300, -1);
  });

  it('stays close to ffmpeg’s resampler on speech-band content', async () => {
    const fx = await FixtureDir.create();
    try {
      const file = fx.lavfi('tone.wav', 'sine=frequency=440:duration=1:sample_rate=22050');
      const ours = resamplePcm(resampleWithFfmpeg(file, 22050), 16000);
      const theirs = resampleWithFfmpeg(file, 16000);
      expect(Math.abs(ours.samples.length - theirs.samples.length)).toBeLessThanOrEqual(1);
      let err = 0;
      let energy = 0;
      for (let i = 100; i < theirs.samples.length - 100; i++) {
        err += (ours.samples[i]! - theirs.samples[i]!) ** 2;
        energy += theirs.samples[i]! ** 2;
      }
      expect(10 * Math.log10(energy / err)).toBeGreaterThan(30); // SNR of linear vs band-limited
    } finally {
      await fx.remove();
    }
  });

  it('copies rather than aliasing the input when the rate already matches', () => {
    const input = sine(100, 16000, 0.1);
    const out = resamplePcm(input, 16000);
    out.samples[0] = 42;
    expect(input.samples[0]).not.toBe(42);
  });

  it('rejects a nonsensical target rate', () => {
    expect(() => resamplePcm(sine(100, 16000, 0.1), 0)).toThrow(RangeError);
  });
});

describe('concatPcm', () => {
  it('joins chunks with silent gaps at the first chunk’s rate', () => {
    const a = sine(200, 16000, 0.5);
    const b = sine(400, 16000, 0.25);
    const out = concatPcm([a, b], 100);
    expect(out.sampleRate).toBe(16000);
    expect(out.samples.length).toBe(a.samples.length + 1600 + b.samples.length);
    const gap = out.samples.subarray(a.samples.length, a.samples.length + 1600);
    expect(gap.every((v) => v === 0)).toBe(true);
    expect(out.samples.subarray(0, a.samples.length)).toEqual(a.samples);
    expect(out.samples.subarray(a.samples.length + 1600)).toEqual(b.samples);
  });

  it('resamples chunks whose rate differs, keeping their duration and pitch', () => {
    const out = concatPcm([sine(200, 24000, 1), sine(300, 16000, 1)]);
    expect(out.sampleRate).toBe(24000);
    expect(audioDurationSec(out)).toBeCloseTo(2, 3);
    const second = { sampleRate: 24000, samples: out.samples.subarray(24000) };
    expect(frequencyOf(second)).toBeCloseTo(300, -1);
  });

  it('gives empty 16 kHz audio for no chunks', () => {
    const out = concatPcm([]);
    expect(out.samples.length).toBe(0);
    expect(out.sampleRate).toBe(16000);
  });
});

describe('f32le bytes and dB', () => {
  it('round-trips samples through bytes, also from an unaligned buffer offset', () => {
    const samples = sine(440, 8000, 0.01).samples;
    const bytes = float32ToLeBytes(samples);
    expect(bytes.readFloatLE(4)).toBe(samples[1]);
    const unaligned = Buffer.concat([Buffer.from([1]), bytes]).subarray(1);
    expect(leBytesToFloat32(unaligned)).toEqual(samples);
  });

  it('floors silence at -120 dB', () => {
    expect(amplitudeToDb(0)).toBe(-120);
    expect(amplitudeToDb(1)).toBe(0);
    expect(amplitudeToDb(0.5)).toBeCloseTo(-6.02, 2);
  });
});
