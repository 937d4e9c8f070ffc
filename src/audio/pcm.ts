/**
 * Pure-TypeScript helpers for in-memory PCM: duration, resampling, concatenation and the byte layout
 * ffmpeg's `f32le` raw format uses.
 */
import os from 'node:os';
import type { PcmAudio } from './pcm-audio.js';
import { AudioError } from '../util/errors.js';

/** Rate that June's speech-to-text side works at. */
export const STT_SAMPLE_RATE = 16_000;

/** Length of `pcm` in seconds (0 for an empty buffer). */
export function audioDurationSec(pcm: PcmAudio): number {
  return pcm.sampleRate > 0 ? pcm.samples.length / pcm.sampleRate : 0;
}

/** Throws a typed error when `pcm` cannot be processed at all (bad rate, no samples). */
export function assertUsablePcm(pcm: PcmAudio, what = 'audio'): void {
  if (!Number.isFinite(pcm.sampleRate) || pcm.sampleRate < 1000 || pcm.sampleRate > 768_000) {
    throw new AudioError(
      'audio_unsupported',
      `${what}: unsupported sample rate ${pcm.sampleRate}`,
      'I could not prepare that audio because its sample rate is not supported.',
    );
  }
  if (pcm.samples.length === 0) {
    throw new AudioError('audio_empty', `${what}: no samples`, 'There is no sound in that audio.');
  }
}

/**
 * Resamples with linear interpolation. Good enough for joining TTS chunks whose rates differ; for
 * decoding user audio June lets ffmpeg's band-limited resampler do the work instead.
 */
export function resamplePcm(pcm: PcmAudio, targetRate: number): PcmAudio {
  if (!Number.isFinite(targetRate) || targetRate <= 0) {
    throw new RangeError(`resamplePcm: invalid target rate ${targetRate}`);
  }
  if (pcm.sampleRate === targetRate || pcm.samples.length === 0) {
    return { sampleRate: targetRate, samples: pcm.samples.slice() };
  }
  const src = pcm.samples;
  const outLength = Math.max(1, Math.round((src.length * targetRate) / pcm.sampleRate));
  const out = new Float32Array(outLength);
  const step = pcm.sampleRate / targetRate;
  const last = src.length - 1;
  for (let i = 0; i < outLength; i++) {
    const pos = i * step;
    const i0 = Math.min(Math.floor(pos), last);
    const i1 = Math.min(i0 + 1, last);
    const frac = pos - i0;
    const a = src[i0] ?? 0;
    const b = src[i1] ?? 0;
    out[i] = a + (b - a) * frac;
  }
  return { sampleRate: targetRate, samples: out };
}

/**
 * Joins chunks into one buffer at the first chunk's rate, resampling the others, with `gapMs` of
 * silence between consecutive chunks. An empty list gives an empty 16 kHz buffer.
 */
export function concatPcm(chunks: readonly PcmAudio[], gapMs = 0): PcmAudio {
  const first = chunks[0];
  if (!first) return { sampleRate: STT_SAMPLE_RATE, samples: new Float32Array(0) };
  const rate = first.sampleRate;
  const parts = chunks.map((c) => (c.sampleRate === rate ? c.samples : resamplePcm(c, rate).samples));
  const gap = Math.max(0, Math.round((gapMs / 1000) * rate));
  const total = parts.reduce((n, p) => n + p.length, 0) + gap * (parts.length - 1);
  const out = new Float32Array(total);
  let offset = 0;
  parts.forEach((p, i) => {
    if (i > 0) offset += gap;
    out.set(p, offset);
    offset += p.length;
  });
  return { sampleRate: rate, samples: out };
}

const littleEndianHost = os.endianness() === 'LE';

/** Float32 samples as little-endian bytes (ffmpeg's `f32le`), without copying on LE hosts. */
export function float32ToLeBytes(samples: Float32Array): Buffer {
  if (littleEndianHost) return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const out = Buffer.alloc(samples.length * 4);
  samples.forEach((v, i) => out.writeFloatLE(v, i * 4));
  return out;
}

/** Little-endian float32 bytes to samples; a trailing partial sample is dropped. Always copies. */
export function leBytesToFloat32(bytes: Buffer): Float32Array {
  const count = Math.floor(bytes.length / 4);
  const out = new Float32Array(count);
  if (littleEndianHost) {
    // Copy into the fresh (aligned) array; `bytes` may sit at an unaligned offset in a pooled buffer.
    new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
  } else {
    for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(i * 4);
  }
  return out;
}

/** 20·log10 of an amplitude, floored at -120 dB so digital silence gives a finite number. */
export function amplitudeToDb(amplitude: number): number {
  return amplitude > 1e-6 ? 20 * Math.log10(amplitude) : -120;
}
