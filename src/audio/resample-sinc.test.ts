import { describe, expect, it } from 'vitest';
import { resamplePcm } from './pcm.js';
import { SincResampler, sincResamplerFor } from './resample-sinc.js';

function tone(freq: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

/** Amplitude of the `freq` component of x (Goertzel over the middle of the signal, Hann-windowed). */
function amplitudeAt(x: Float32Array, rate: number, freq: number): number {
  const start = Math.floor(x.length * 0.1);
  const n = Math.floor(x.length * 0.8);
  const w = (2 * Math.PI * freq) / rate;
  let re = 0;
  let im = 0;
  let windowSum = 0;
  for (let i = 0; i < n; i++) {
    const hann = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    windowSum += hann;
    re += x[start + i]! * hann * Math.cos(w * (start + i));
    im -= x[start + i]! * hann * Math.sin(w * (start + i));
  }
  return (2 * Math.hypot(re, im)) / windowSum;
}

const db = (ratio: number) => 20 * Math.log10(ratio);

describe('SincResampler', () => {
  it.each([
    [22050, 24000],
    [22050, 48000],
    [44100, 48000],
    [48000, 16000],
    [96000, 48000],
  ])('%i → %i Hz keeps a 1 kHz tone: same amplitude, same phase, same length', (from, to) => {
    const input = tone(1000, from, 0.5);
    const out = sincResamplerFor(from, to).process(input);
    expect(out.length).toBe(Math.round((input.length * to) / from));
    const expected = tone(1000, to, 0.5);
    // No delay and no gain change: away from the edges, the output is the tone sampled at the new rate.
    let worst = 0;
    for (let i = 200; i < out.length - 200; i++) worst = Math.max(worst, Math.abs(out[i]! - expected[i]!));
    expect(worst).toBeLessThan(0.005);
  });

  it('removes the images an upsampler creates (22050 → 48000, a 10 kHz tone)', () => {
    const out = sincResamplerFor(22050, 48000).process(tone(10_000, 22050, 1));
    // Zero-stuffing mirrors 10 kHz around 11.025 kHz: an image at 12.05 kHz.
    expect(db(amplitudeAt(out, 48000, 12_050) / 0.5)).toBeLessThan(-60);
    // Linear interpolation leaves that image clearly audible.
    const linear = resamplePcm({ sampleRate: 22050, samples: tone(10_000, 22050, 1) }, 48000).samples;
    expect(db(amplitudeAt(linear, 48000, 12_050) / 0.5)).toBeGreaterThan(-30);
  });

  it('does not fold content above the new Nyquist back into the band (48000 → 16000)', () => {
    // 12 kHz cannot exist at 16 kHz; a decimator without a low-pass turns it into 4 kHz.
    const out = sincResamplerFor(48000, 16000).process(tone(12_000, 48000, 1));
    expect(db(amplitudeAt(out, 16000, 4000) / 0.5)).toBeLessThan(-70);
    const linear = resamplePcm({ sampleRate: 48000, samples: tone(12_000, 48000, 1) }, 16000).samples;
    expect(db(amplitudeAt(linear, 16000, 4000) / 0.5)).toBeGreaterThan(-10);
  });

  it('passes speech frequencies: a 7 kHz tone survives 48000 → 16000 within 1 dB', () => {
    const out = sincResamplerFor(48000, 16000).process(tone(7000, 48000, 1));
    expect(Math.abs(db(amplitudeAt(out, 16000, 7000) / 0.5))).toBeLessThan(1);
  });

  it('converts a signal in slices exactly as in one go', () => {
    const r = new SincResampler(22050, 24000);
    const input = tone(440, 22050, 0.3);
    const whole = r.process(input);
    const sliced = new Float32Array(whole.length);
    for (let start = 0; start < sliced.length; start += 777) {
      r.processRange(input, sliced, start, Math.min(sliced.length, start + 777));
    }
    expect(sliced).toEqual(whole);
  });

  it('refuses rates that are not positive integers, and ratios that need a huge table', () => {
    expect(() => new SincResampler(22050.5, 48000)).toThrow(RangeError);
    expect(() => new SincResampler(0, 48000)).toThrow(RangeError);
    expect(() => new SincResampler(44101, 48000)).toThrow(/too large a filter table/);
  });
});
