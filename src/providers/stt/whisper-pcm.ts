/**
 * Turns June's Float32 PCM into what whisper.node's in-memory entry point reads: 16 kHz mono signed
 * 16-bit little-endian samples in an ArrayBuffer (it accepts no float input).
 */
import type { PcmAudio } from '../types.js';
import { float32ToS16le, resampleLinear } from './pocketsphinx-pcm.js';

export const WHISPER_SAMPLE_RATE = 16_000;

/**
 * Clips shorter than this are padded with silence. whisper.cpp refuses input under 100 ms, and its
 * language detection on such a clip fails in a way whisper.node never reports (the call never settles).
 * Whisper pads every window to 30 s internally anyway, so trailing silence changes nothing else.
 */
export const MIN_WHISPER_SAMPLES = WHISPER_SAMPLE_RATE;

export function toWhisperPcm(audio: PcmAudio): ArrayBuffer {
  const samples = resampleLinear(audio.samples, audio.sampleRate, WHISPER_SAMPLE_RATE);
  const s16 = float32ToS16le(samples);
  const out = new ArrayBuffer(Math.max(s16.length, MIN_WHISPER_SAMPLES * 2));
  new Uint8Array(out).set(s16);
  return out;
}
