/**
 * Turns June's Float32 PCM into what pocketsphinx reads: 16 kHz mono signed 16-bit little-endian.
 */
import type { PcmAudio } from '../types.js';
import { STT_SAMPLE_RATE } from '../../audio/index.js';

export const POCKETSPHINX_SAMPLE_RATE = STT_SAMPLE_RATE;

/** Float32 [-1, 1] → s16le bytes. Out-of-range samples are clipped rather than wrapped around. */
export function float32ToS16le(samples: Float32Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] ?? 0;
    const clipped = s > 1 ? 1 : s < -1 ? -1 : Number.isNaN(s) ? 0 : s;
    out.writeInt16LE(Math.round(clipped * 32767), i * 2);
  }
  return out;
}

/**
 * Resamples by linear interpolation. When shrinking, each output sample first averages the input
 * samples it covers, which is a crude low-pass but enough to keep aliasing from hurting recognition.
 * Unlike the plain interpolation in src/audio/pcm.ts, the averaging suits recognisers fed 44.1/48 kHz.
 * Callers normally pass 16 kHz already (decodeAudio does); this makes other rates work instead of failing.
 */
export function resampleLinear(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate || samples.length === 0) return samples;
  const ratio = fromRate / toRate;
  const outLength = Math.max(1, Math.round(samples.length / ratio));
  const out = new Float32Array(outLength);
  const last = samples.length - 1;
  for (let i = 0; i < outLength; i++) {
    const pos = i * ratio;
    if (ratio > 1) {
      const start = Math.floor(pos);
      const end = Math.min(last, Math.floor(pos + ratio));
      let sum = 0;
      for (let j = start; j <= end; j++) sum += samples[j] ?? 0;
      out[i] = sum / (end - start + 1);
    } else {
      const left = Math.min(last, Math.floor(pos));
      const right = Math.min(last, left + 1);
      const frac = pos - left;
      out[i] = (samples[left] ?? 0) * (1 - frac) + (samples[right] ?? 0) * frac;
    }
  }
  return out;
}

/** The audio as pocketsphinx wants it, whatever rate it arrived at. */
export function toPocketsphinxPcm(audio: PcmAudio): Buffer {
  return float32ToS16le(resampleLinear(audio.samples, audio.sampleRate, POCKETSPHINX_SAMPLE_RATE));
}
