/**
 * The `waveform` of a Discord voice message: base64 of up to 256 bytes, each the loudness (0–255) of one
 * equal slice of the clip, which Discord clients draw as the bars of the voice message. Computed from the
 * reply audio itself, so the bars follow what June actually says (speech, pauses between sentences).
 */
import { decodeAudio } from '../../audio/index.js';

/** Discord accepts at most 256 waveform samples. */
export const MAX_WAVEFORM_SAMPLES = 256;
/** Clients use about ten bars per second for short clips. */
const SAMPLES_PER_SECOND = 10;

/** Waveform bytes for mono PCM: RMS per slice, scaled so the loudest slice is 255. */
export function waveformBytes(samples: Float32Array, sampleRate: number): Buffer {
  const durationSec = samples.length / sampleRate;
  const n = Math.max(1, Math.min(MAX_WAVEFORM_SAMPLES, Math.round(durationSec * SAMPLES_PER_SECOND)));
  const rms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const start = Math.floor((i * samples.length) / n);
    const end = Math.max(start + 1, Math.floor(((i + 1) * samples.length) / n));
    let sum = 0;
    for (let j = start; j < end && j < samples.length; j++) sum += samples[j]! * samples[j]!;
    rms[i] = Math.sqrt(sum / (end - start));
  }
  const loudest = Math.max(...rms);
  const out = Buffer.alloc(n);
  if (loudest > 0) for (let i = 0; i < n; i++) out[i] = Math.round((rms[i]! / loudest) * 255);
  return out;
}

export interface VoiceMessageMeta {
  /** base64 waveform bytes. */
  waveform: string;
  durationSec: number;
}

/** Decodes a voice note (OGG/Opus or any format decodeAudio reads) and measures it for Discord. */
export async function voiceMessageMeta(audio: Buffer, signal?: AbortSignal): Promise<VoiceMessageMeta> {
  const decoded = await decodeAudio(audio, {
    maxBytes: audio.length,
    maxSeconds: 3600,
    ...(signal ? { signal } : {}),
  });
  return {
    waveform: waveformBytes(decoded.pcm.samples, decoded.pcm.sampleRate).toString('base64'),
    durationSec: decoded.durationSec,
  };
}
