/**
 * The in-process fast path for June's replies: PCM → libopus (WASM) → OGG pages written in TypeScript,
 * a voice note Telegram and Discord show as such (mono, Opus, 20 ms frames, `voip` application).
 *
 * The encoder runs at the lowest Opus rate that holds the input (espeak-ng's 22050 Hz → 24 kHz,
 * 16 kHz → 16 kHz as is), converting with the band-limited resampler where the rate is not one of
 * Opus's own: coding bandwidth the input never had only costs time. Decoders always play Opus at
 * 48 kHz; the OpusHead records the input rate for information only.
 *
 * Complexity 3 rather than libopus's default of 9 (ffmpeg's 10): at 24–32 kbit/s SILK has bits to
 * spare for speech, and what the higher settings add (more trellis states, warped noise shaping) is hard
 * to hear in a TTS voice, while the encoder runs 2–3× faster (measured here: complexity 10 ≈ 36×,
 * 5 ≈ 110×, 3 ≈ 130×, 1 ≈ 185× real time for 24 kHz speech).
 */
import { randomInt } from 'node:crypto';
import type { PcmAudio } from './pcm-audio.js';
import { throwIfAborted } from '../util/abort.js';
import { loadOpusWasm, OPUS_CTL, OPUS_NATIVE_RATES, OPUS_SIGNAL_VOICE } from './opus-codec.js';
import { muxOggOpus, OPUS_GRANULE_RATE } from './opus-ogg.js';
import { sincResamplerFor, type SincResampler } from './resample-sinc.js';
import { TimeSlicer } from './time-slice.js';

export const OPUS_ENCODE_COMPLEXITY = 3;
const FRAME_MS = 20;
/** Resampled input is produced this many frames at a time, just ahead of the encoder. */
const FRAMES_PER_CHUNK = 50;

/** Not the input's fault (odd rate, codec unavailable): encode another way. */
export class InProcessEncodeDeclined extends Error {
  override readonly name = 'InProcessEncodeDeclined';
}

/** The Opus rate to encode `rate` at: itself if Opus has it, else the next one up (48 kHz at most). */
export function opusEncodeRate(rate: number): number {
  return OPUS_NATIVE_RATES.find((r) => r >= rate) ?? 48_000;
}

export interface OggOpusEncodeOptions {
  bitrateKbps: number;
  signal?: AbortSignal;
  /** OGG serial number; random by default, as RFC 3533 asks. */
  serial?: number;
}

/** Encodes mono PCM to a complete OGG/Opus file. */
export async function encodeOggOpusInProcess(pcm: PcmAudio, opts: OggOpusEncodeOptions): Promise<Buffer> {
  throwIfAborted(opts.signal);
  const inputRate = pcm.sampleRate;
  if (!Number.isInteger(inputRate)) throw new InProcessEncodeDeclined(`sample rate ${inputRate}`);
  const rate = opusEncodeRate(inputRate);
  let resampler: SincResampler | undefined;
  try {
    resampler = rate === inputRate ? undefined : sincResamplerFor(inputRate, rate);
  } catch (err) {
    throw new InProcessEncodeDeclined(err instanceof Error ? err.message : String(err));
  }
  const opus = await loadOpusWasm();
  throwIfAborted(opts.signal);

  const encoder = new opus.Encoder({ channels: 1, sample_rate: rate, application: 'voip' });
  try {
    encoder.ctl(OPUS_CTL.setBitrate, Math.round(opts.bitrateKbps * 1000));
    encoder.ctl(OPUS_CTL.setComplexity, OPUS_ENCODE_COMPLEXITY);
    encoder.ctl(OPUS_CTL.setSignal, OPUS_SIGNAL_VOICE);
    const granulesPerSample = OPUS_GRANULE_RATE / rate;
    const preSkip = encoder.ctl(OPUS_CTL.getLookahead) * granulesPerSample;
    const frame = (rate * FRAME_MS) / 1000;
    const frameGranules = frame * granulesPerSample;
    // Length in 48 kHz samples, and enough frames to cover it plus the encoder's look-ahead.
    const totalSamples = Math.round((pcm.samples.length * OPUS_GRANULE_RATE) / inputRate);
    const frameCount = Math.ceil((totalSamples + preSkip) / frameGranules);

    const source = resampler ? new Float32Array(resampler.outputLength(pcm.samples.length)) : pcm.samples;
    let resampledUpTo = 0;
    const pcm16 = new Int16Array(frame);
    const packets: Uint8Array[] = [];
    const slicer = new TimeSlicer(opts.signal);
    for (let f = 0; f < frameCount; f++) {
      const start = f * frame;
      if (resampler && resampledUpTo < Math.min(start + frame, source.length)) {
        const end = Math.min(source.length, start + frame * FRAMES_PER_CHUNK);
        resampler.processRange(pcm.samples, source, resampledUpTo, end);
        resampledUpTo = end;
      }
      for (let k = 0; k < frame; k++) {
        const v = source[start + k] ?? 0; // past the end: silence that flushes the look-ahead
        pcm16[k] = v >= 1 ? 32767 : v <= -1 ? -32768 : Math.round(v * 32767);
      }
      packets.push(encoder.encode(pcm16));
      if (slicer.due()) await slicer.pause();
    }
    return muxOggOpus({
      packets,
      packetSamples: packets.map(() => frameGranules),
      preSkip,
      totalSamples,
      inputSampleRate: inputRate,
      serial: opts.serial ?? randomInt(0, 2 ** 32),
    });
  } finally {
    encoder.drop();
  }
}
