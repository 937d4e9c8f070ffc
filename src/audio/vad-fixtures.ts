/**
 * Sounds that are not speech, generated in code (16 kHz mono), for the speech gate's tests and for
 * `npm run bench:voice`: steady and starting tones, mains hum, white/pink/brown noise, clicks and
 * music-like chords. Deterministic (seeded), so a result never depends on the run.
 */
import type { PcmAudio } from './pcm-audio.js';

const RATE = 16_000;

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x80000000 - 1;
  };
}

function clip(seconds: number, fill: (i: number, t: number) => number): PcmAudio {
  const samples = new Float32Array(Math.round(seconds * RATE));
  for (let i = 0; i < samples.length; i++) samples[i] = fill(i, i / RATE);
  return { sampleRate: RATE, samples };
}

function normalise(pcm: PcmAudio, peak: number): PcmAudio {
  let max = 0;
  for (const v of pcm.samples) max = Math.max(max, Math.abs(v));
  if (max > 0) for (let i = 0; i < pcm.samples.length; i++) pcm.samples[i] = (pcm.samples[i]! / max) * peak;
  return pcm;
}

function white(seconds: number, seed: number): PcmAudio {
  const r = seeded(seed);
  return clip(seconds, () => r());
}

/** Pink noise by Paul Kellet's filter of white noise. */
function pink(seconds: number, seed: number): PcmAudio {
  const r = seeded(seed);
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0; // prettier-ignore
  return clip(seconds, () => {
    const w = r();
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.969 * b2 + w * 0.153852;
    b3 = 0.8665 * b3 + w * 0.3104856;
    b4 = 0.55 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.016898;
    const out = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
    b6 = w * 0.115926;
    return out;
  });
}

/** Brown noise: leaky integral of white noise. */
function brown(seconds: number, seed: number): PcmAudio {
  const r = seeded(seed);
  let last = 0;
  return clip(seconds, () => (last = 0.998 * last + 0.02 * r()));
}

/** `pcm` preceded by `silenceSec` of digital silence (a sound that starts after a quiet moment). */
function afterSilence(pcm: PcmAudio, silenceSec = 1): PcmAudio {
  const samples = new Float32Array(Math.round(silenceSec * RATE) + pcm.samples.length);
  samples.set(pcm.samples, Math.round(silenceSec * RATE));
  return { sampleRate: RATE, samples };
}

const NOTE = (semitonesFromA4: number) => 440 * 2 ** (semitonesFromA4 / 12);

/** Triads with a few harmonics and a plucked envelope, one chord every half second. */
function chords(seconds: number): PcmAudio {
  const progression = [
    [-9, -5, -2], // C major
    [-4, 0, 3], // F major
    [-2, 2, 5], // G major
    [0, 3, 7], // A minor
  ];
  return clip(seconds, (_, t) => {
    const index = Math.floor(t * 2);
    const chord = progression[index % progression.length]!;
    const local = t - index / 2;
    const env = Math.exp(-local * 4);
    let v = 0;
    for (const n of chord) {
      const f = NOTE(n);
      for (let h = 1; h <= 4; h++) v += Math.sin(2 * Math.PI * f * h * t) / (h * h);
    }
    return v * env;
  });
}

export interface NonSpeechClip {
  name: string;
  pcm: PcmAudio;
}

/** Every generated non-speech clip (3–4 s each). */
export function nonSpeechClips(): NonSpeechClip[] {
  const sine = (f: number) => clip(3, (_, t) => Math.sin(2 * Math.PI * f * t));
  const hum = clip(3, (_, t) =>
    [50, 100, 150, 200].reduce((v, f, k) => v + Math.sin(2 * Math.PI * f * t) / (k + 1), 0),
  );
  const clicks = clip(3, (i) => (i % Math.round(RATE / 4) < 8 ? 1 : 0));
  const list: Array<[string, PcmAudio, number]> = [
    ['sine 440 Hz', sine(440), 0.5],
    ['sine 1 kHz after silence (beep)', afterSilence(sine(1000)), 0.5],
    ['sine sweep 200 Hz–2 kHz', clip(3, (_, t) => Math.sin(2 * Math.PI * (200 * t + 300 * t * t))), 0.5],
    ['mains hum 50 Hz + harmonics', hum, 0.3],
    ['white noise', white(3, 1), 0.1],
    ['white noise burst after silence', afterSilence(white(2, 2)), 0.1],
    ['pink noise', pink(3, 3), 0.2],
    ['brown noise', brown(3, 4), 0.3],
    ['brown noise burst after silence', afterSilence(brown(2, 5)), 0.3],
    ['clicks, 4 per second', clicks, 0.8],
    ['music-like chords', chords(4), 0.5],
  ];
  return list.map(([name, pcm, peak]) => ({ name, pcm: normalise(pcm, peak) }));
}
