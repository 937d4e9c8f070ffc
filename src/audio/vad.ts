/**
 * detectSpeech: does this clip contain speech at all? Used to answer "I didn't hear anything" instead
 * of sending silence or hiss to speech-to-text (which tends to hallucinate words from noise).
 *
 * An energy gate, not a neural VAD (deliberately: no model to download, microseconds per frame). Each
 * 30 ms frame counts as speech when all three hold:
 *   1. loud enough: frame RMS above `thresholdDb` (absolute gate);
 *   2. above the noise: at least 10 dB over the adaptive noise floor, the 10th percentile of frame
 *      levels within ±1.5 s. Steady sounds (fan hiss, white/pink noise, mains hum, a continuous tone)
 *      *are* the floor, so they never rise above it;
 *   3. structured, not hiss: spectral flatness (100 Hz–6 kHz) below 0.12. Voiced speech piles its
 *      energy into harmonics and formants (flatness ≈ 0.001–0.1); white noise sits near 0.55 and pink
 *      noise near 0.3, so a burst of hiss after silence is still rejected.
 * The clip has speech when the frames passing all three add up to `minSpeechMs`. Only voiced frames
 * pass test 3, so `speechMs` measures voiced time (vowels, voiced consonants), a little less than the
 * talking time.
 *
 * Known blind spots, accepted for a gate: a steady tone or hum that fills the clip is rejected (test 2),
 * but a tone that *starts after silence* (a beep, a whistle) passes tests 1–3 and counts as speech if it
 * lasts `minSpeechMs`; so does a burst of low rumble (brown noise is spectrally steep, flatness ≈ 0.07).
 * Speech quieter than 10 dB above a steady background is missed.
 */
import type { PcmAudio } from './pcm-audio.js';
import { amplitudeToDb } from './pcm.js';
import { FlatnessMeter } from './spectrum.js';

export interface SpeechDetectionOptions {
  /** Frames quieter than this (dBFS RMS) are never speech. Default -45 (config: vadThresholdDb). */
  thresholdDb?: number;
  /** Voiced time needed for the clip to count as speech. Default 250 (config: vadMinSpeechMs). */
  minSpeechMs?: number;
}

export interface SpeechDetection {
  hasSpeech: boolean;
  /** Time in frames judged to be speech, in ms. */
  speechMs: number;
  /** Highest absolute sample, dBFS (-120 for digital silence). */
  peakDb: number;
  /** RMS of the whole clip, dBFS (-120 for digital silence). */
  rmsDb: number;
  /** Median of the adaptive noise floor the gate used, dBFS. */
  noiseFloorDb: number;
  /** speechMs / clip length, 0..1. */
  speechRatio: number;
}

const FRAME_MS = 30;
const FLOOR_MARGIN_DB = 10;
const FLOOR_WINDOW_MS = 1500;
const FLOOR_PERCENTILE = 0.1;
/** Recompute the local floor every this many frames; it moves slowly, so this is plenty. */
const FLOOR_STEP_FRAMES = 4;
const MAX_FLATNESS = 0.12;
const BAND_LO_HZ = 100;
const BAND_HI_HZ = 6000;

function percentile(values: Float64Array, p: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? -120;
}

/** The 10th-percentile frame level within ±FLOOR_WINDOW_MS of each frame. */
function localNoiseFloors(frameDb: Float64Array): Float64Array {
  const half = Math.round(FLOOR_WINDOW_MS / FRAME_MS);
  const floors = new Float64Array(frameDb.length);
  for (let i = 0; i < frameDb.length; i += FLOOR_STEP_FRAMES) {
    const start = Math.max(0, i - half);
    const end = Math.min(frameDb.length, i + half + 1);
    floors.fill(percentile(frameDb.subarray(start, end), FLOOR_PERCENTILE), i, i + FLOOR_STEP_FRAMES);
  }
  return floors;
}

export function detectSpeech(pcm: PcmAudio, opts: SpeechDetectionOptions = {}): SpeechDetection {
  const thresholdDb = opts.thresholdDb ?? -45;
  const minSpeechMs = opts.minSpeechMs ?? 250;
  const { samples, sampleRate } = pcm;

  let peak = 0;
  let energy = 0;
  for (const v of samples) {
    const a = Math.abs(v);
    if (a > peak) peak = a;
    energy += v * v;
  }
  const frameLength = Math.round((sampleRate * FRAME_MS) / 1000);
  const frameCount = frameLength > 0 ? Math.floor(samples.length / frameLength) : 0;
  const result: SpeechDetection = {
    hasSpeech: false,
    speechMs: 0,
    peakDb: amplitudeToDb(peak),
    rmsDb: samples.length ? amplitudeToDb(Math.sqrt(energy / samples.length)) : -120,
    noiseFloorDb: -120,
    speechRatio: 0,
  };
  if (frameCount === 0) return result;

  const frameDb = new Float64Array(frameCount);
  for (let f = 0; f < frameCount; f++) {
    let e = 0;
    for (let i = f * frameLength, end = i + frameLength; i < end; i++) e += samples[i]! * samples[i]!;
    frameDb[f] = amplitudeToDb(Math.sqrt(e / frameLength));
  }
  const floors = localNoiseFloors(frameDb);
  const flatness = new FlatnessMeter(frameLength, sampleRate, BAND_LO_HZ, BAND_HI_HZ);

  let speechFrames = 0;
  for (let f = 0; f < frameCount; f++) {
    const db = frameDb[f]!;
    if (db <= thresholdDb || db < floors[f]! + FLOOR_MARGIN_DB) continue;
    // The FFT is the costly part, so it only runs on frames the energy tests let through.
    if (flatness.measure(samples, f * frameLength) < MAX_FLATNESS) speechFrames++;
  }
  result.speechMs = Math.round((speechFrames * frameLength * 1000) / sampleRate);
  result.speechRatio = speechFrames / frameCount;
  result.noiseFloorDb = percentile(floors, 0.5);
  result.hasSpeech = result.speechMs >= minSpeechMs && speechFrames > 0;
  return result;
}
