import { describe, expect, it } from 'vitest';
import { float32ToS16le, resampleLinear, toPocketsphinxPcm } from './pocketsphinx-pcm.js';

describe('pocketsphinx PCM conversion', () => {
  it('maps [-1, 1] onto s16le and clips instead of wrapping around', () => {
    const bytes = float32ToS16le(new Float32Array([0, 1, -1, 0.5, 2, -3, Number.NaN]));
    const values = Array.from({ length: 7 }, (_, i) => bytes.readInt16LE(i * 2));
    expect(values).toEqual([0, 32767, -32767, 16384, 32767, -32767, 0]);
  });

  it('keeps duration when resampling, and averages when shrinking', () => {
    const tone = new Float32Array(48_000).map((_, i) => Math.sin((2 * Math.PI * 440 * i) / 48_000));
    const down = resampleLinear(tone, 48_000, 16_000);
    expect(down.length).toBe(16_000);
    // A 440 Hz tone survives the trip; its peak stays close to 1.
    expect(Math.max(...down)).toBeGreaterThan(0.9);
    // A tone at the input's Nyquist rate cannot be represented at 16 kHz; averaging removes it.
    const nyquist = new Float32Array(48_000).map((_, i) => (i % 2 ? 1 : -1));
    expect(Math.max(...resampleLinear(nyquist, 48_000, 16_000).map(Math.abs))).toBeLessThan(0.35);
    expect(resampleLinear(tone.subarray(0, 100), 8_000, 16_000).length).toBe(200);
  });

  it('produces 16 kHz s16le from any rate', () => {
    const oneSecondAt22k = { sampleRate: 22_050, samples: new Float32Array(22_050).fill(0.25) };
    const bytes = toPocketsphinxPcm(oneSecondAt22k);
    expect(bytes.length).toBe(32_000);
    expect(bytes.readInt16LE(1000)).toBe(Math.round(0.25 * 32767));
  });
});
