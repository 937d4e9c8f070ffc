import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PcmAudio } from './pcm-audio.js';
import { detectSpeech } from './vad.js';
import { wavToPcm } from './wav.js';
import {
  FixtureDir,
  resampleWithFfmpeg,
  SPEECH_DATA_MISSING,
  speechDataDir,
  TEN_SECOND_TEXT,
} from './test-fixtures.js';

let fx: FixtureDir;
let speech: PcmAudio;

/** A 3 s clip rendered by ffmpeg's lavfi sources, as 16 kHz mono PCM. */
function lavfi(name: string, graph: string): PcmAudio {
  return resampleWithFfmpeg(fx.lavfi(`${name}.wav`, graph, ['-ac', '1', '-ar', '16000']), 16000);
}

/** `graph` starting after one second of digital silence. */
function afterSilence(name: string, graph: string): PcmAudio {
  return lavfi(name, `anullsrc=r=16000:cl=mono,atrim=0:1[s];${graph}[g];[s][g]concat=n=2:v=0:a=1`);
}

beforeAll(async () => {
  fx = await FixtureDir.create();
  speech = wavToPcm(await fx.read(path.basename(fx.speak('speech.wav', TEN_SECOND_TEXT))));
});

afterAll(async () => {
  await fx?.remove();
});

describe('detectSpeech: no speech', () => {
  it('digital silence', () => {
    const result = detectSpeech({ sampleRate: 16000, samples: new Float32Array(16000 * 3) });
    expect(result).toMatchObject({
      hasSpeech: false,
      speechMs: 0,
      peakDb: -120,
      rmsDb: -120,
      speechRatio: 0,
    });
  });

  it('empty audio', () => {
    expect(detectSpeech({ sampleRate: 16000, samples: new Float32Array(0) }).hasSpeech).toBe(false);
  });

  it.each(['white', 'pink'])('steady %s noise at amplitude 0.02, 0.05 and 0.1', (color) => {
    for (const amplitude of [0.02, 0.05, 0.1]) {
      const noise = lavfi(
        `${color}-${amplitude}`,
        `anoisesrc=color=${color}:amplitude=${amplitude}:duration=3`,
      );
      const result = detectSpeech(noise);
      expect(result.hasSpeech, `${color} ${amplitude}`).toBe(false);
      expect(result.speechMs).toBe(0);
      // The adaptive floor sits at the noise itself (within a couple of dB of its RMS).
      expect(Math.abs(result.noiseFloorDb - result.rmsDb)).toBeLessThan(3);
    }
  });

  it.each(['white', 'pink'])(
    'a burst of %s noise after silence (rejected as hiss by its flat spectrum)',
    (color) => {
      const burst = afterSilence(`burst-${color}`, `anoisesrc=color=${color}:amplitude=0.1:duration=2`);
      const result = detectSpeech(burst);
      expect(result.rmsDb).toBeGreaterThan(-45); // loud enough for the energy gate on its own
      expect(result.hasSpeech).toBe(false);
    },
  );

  // Documented behaviour: a steady tone or mains hum filling the clip is the noise floor, not speech.
  it('a steady tone and a 50 Hz hum with harmonics that fill the clip', () => {
    const tone = lavfi('tone', 'sine=frequency=440:duration=3,volume=0.3');
    const hum = lavfi('hum', 'aevalsrc=0.05*sin(2*PI*50*t)+0.03*sin(2*PI*100*t)+0.02*sin(2*PI*150*t):d=3');
    expect(detectSpeech(tone).hasSpeech).toBe(false);
    expect(detectSpeech(hum).hasSpeech).toBe(false);
  });
});

describe('detectSpeech: speech', () => {
  it('espeak-ng output at its native 22050 Hz and decoded to 16 kHz', () => {
    const native = detectSpeech(speech);
    const at16k = detectSpeech(resampleWithFfmpeg(fx.path('speech.wav'), 16000));
    for (const result of [native, at16k]) {
      expect(result.hasSpeech).toBe(true);
      const clipMs = (speech.samples.length / speech.sampleRate) * 1000;
      expect(result.speechMs).toBeGreaterThan(clipMs * 0.3);
      expect(result.speechMs).toBeLessThanOrEqual(clipMs);
      expect(result.speechRatio).toBeCloseTo(result.speechMs / clipMs, 1);
    }
    expect(Math.abs(native.speechMs - at16k.speechMs)).toBeLessThan(native.speechMs * 0.1);
  });

  it('speech over steady white noise', () => {
    fx.lavfi('noise-bed.wav', 'anoisesrc=color=white:amplitude=0.03:duration=15:sample_rate=22050');
    const mixed = resampleWithFfmpeg(
      fx.convert('speech.wav', 'noisy.wav', [
        '-i',
        fx.path('noise-bed.wav'),
        '-filter_complex',
        '[0][1]amix=inputs=2:duration=first:normalize=0',
      ]),
      16000,
    );
    const result = detectSpeech(mixed);
    expect(result.hasSpeech).toBe(true);
    expect(result.noiseFloorDb).toBeGreaterThan(-45); // the floor rose to the noise bed
  });

  // Documented blind spot: a tone that starts after silence looks like a sustained vowel.
  it('counts a tone burst after silence as speech (documented limitation)', () => {
    expect(detectSpeech(afterSilence('beep', 'sine=frequency=440:duration=1')).hasSpeech).toBe(true);
  });

  it('reports peak and RMS levels that match the samples', () => {
    const result = detectSpeech(speech);
    const peak = speech.samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const rms = Math.sqrt(speech.samples.reduce((s, v) => s + v * v, 0) / speech.samples.length);
    expect(result.peakDb).toBeCloseTo(20 * Math.log10(peak), 3);
    expect(result.rmsDb).toBeCloseTo(20 * Math.log10(rms), 3);
    expect(result.noiseFloorDb).toBeLessThan(result.rmsDb);
  });

  it('honours thresholdDb and minSpeechMs', () => {
    const base = detectSpeech(speech);
    expect(detectSpeech(speech, { thresholdDb: base.peakDb + 1 }).hasSpeech).toBe(false);
    expect(detectSpeech(speech, { minSpeechMs: base.speechMs + 1 }).hasSpeech).toBe(false);
    expect(detectSpeech(speech, { minSpeechMs: base.speechMs }).hasSpeech).toBe(true);
  });
});

const dataDir = speechDataDir();
const clips = dataDir
  ? readdirSync(dataDir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.wav'))
      .map((f) => path.join(dataDir, f))
  : [];
if (!dataDir) console.warn(SPEECH_DATA_MISSING);

describe.skipIf(!dataDir)(
  `detectSpeech: real recordings${dataDir ? '' : ` (skipped: ${SPEECH_DATA_MISSING})`}`,
  () => {
    it('finds the shared clips', () => {
      expect(clips.length).toBeGreaterThan(0);
    });

    it.each(clips.map((c) => [path.relative(dataDir ?? '', c), c] as const))(
      'hears speech in %s, at its own rate and at 16 kHz',
      async (_name, file) => {
        for (const pcm of [wavToPcm(await readFile(file)), resampleWithFfmpeg(file, 16000)]) {
          const result = detectSpeech(pcm);
          expect(result.hasSpeech, `${pcm.sampleRate} Hz`).toBe(true);
          expect(result.speechMs).toBeGreaterThanOrEqual(250);
        }
      },
    );
  },
);
