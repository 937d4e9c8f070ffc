import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../observability/logger.js';
import { ModelError, ProviderError } from '../../util/errors.js';
import {
  writeTinyKokoroVoice,
  writeTinyMatchaVoice,
  writeTinyPiperVoice,
} from '../testing/tiny-tts-models.js';
import { SherpaTextToSpeech } from './sherpa-tts.js';
import { describeTextToSpeechBehaviour } from './tts.behaviour.js';

// The real sherpa-onnx engine with a tiny Piper-shaped voice the test writes itself: it checks the
// load → phonemize → ONNX run → PCM path, not how the voice sounds (so no intelligibility check).
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'june-sherpa-tts-'));
const piperDir = path.join(root, 'vits-piper-test');
const piper = writeTinyPiperVoice(piperDir);
const logger = createLogger('silent');

describeTextToSpeechBehaviour(
  'sherpa-onnx (Piper/VITS)',
  async () => {
    await piper;
    return { tts: new SherpaTextToSpeech({ voice: { name: 'tiny-piper', dir: piperDir }, logger }) };
  },
  { checksIntelligibility: false },
);

const kokoroDir = path.join(root, 'kokoro-test');
const kokoro = writeTinyKokoroVoice(kokoroDir, { speakers: 3 });

describeTextToSpeechBehaviour(
  'sherpa-onnx (Kokoro)',
  async () => {
    await kokoro;
    return { tts: new SherpaTextToSpeech({ voice: { name: 'tiny-kokoro', dir: kokoroDir }, logger }) };
  },
  { checksIntelligibility: false },
);

// Matcha-TTS with a vocoder: the acoustic model makes a mel spectrogram, the Vocos-shaped vocoder its
// STFT, which sherpa-onnx turns into audio. The vocoder lies outside the voice directory, as in the cache.
const matchaDir = path.join(root, 'matcha-icefall-test');
const matcha = writeTinyMatchaVoice(matchaDir, path.join(root, 'vocoders', 'vocos-test.onnx'));

describeTextToSpeechBehaviour(
  'sherpa-onnx (Matcha + Vocos vocoder)',
  async () => {
    const voice = await matcha;
    return {
      tts: new SherpaTextToSpeech({
        voice: { name: 'tiny-matcha', dir: matchaDir, vocoder: voice.vocoder },
        logger,
      }),
    };
  },
  { checksIntelligibility: false },
);

describe('SherpaTextToSpeech with a Matcha voice', () => {
  it('is told by its directory, speaks at 22.05 kHz through the vocoder, and needs the vocoder', async () => {
    const voice = await matcha;
    const tts = new SherpaTextToSpeech({
      voice: { name: 'tiny-matcha', dir: matchaDir, vocoder: voice.vocoder },
      logger,
    });
    try {
      const pcm = await tts.synthesize('Hello there.');
      expect(pcm.sampleRate).toBe(22_050);
      expect(pcm.samples.length).toBeGreaterThan(0);
    } finally {
      await tts.close();
    }
    const without = new SherpaTextToSpeech({ voice: { name: 'tiny-matcha', dir: matchaDir }, logger });
    await expect(without.synthesize('Hello.')).rejects.toMatchObject({
      message: expect.stringMatching(/vocoder/),
    });
    await without.close();
  });
});

describe('SherpaTextToSpeech with a Kokoro voice', () => {
  it('speaks at 24 kHz and picks speakers by id or by the names the voice lists', async () => {
    await kokoro;
    const tts = new SherpaTextToSpeech({
      voice: { name: 'tiny-kokoro', dir: kokoroDir, speakers: ['af_a', 'am_b', 'bf_c'] },
      speaker: 'bf_c',
      logger,
    });
    try {
      const pcm = await tts.synthesize('Hello there.');
      expect(pcm.sampleRate).toBe(24_000);
      expect((await tts.synthesize('Hello there.', { voice: 'am_b' })).samples.length).toBe(
        pcm.samples.length,
      );
      expect((await tts.synthesize('Hello there.', { voice: '2' })).samples.length).toBe(pcm.samples.length);
      await expect(tts.synthesize('Hello.', { voice: 'zz_none' })).rejects.toMatchObject({
        code: 'tts_voice_unknown',
        userMessage: expect.stringMatching(/af_a, am_b, bf_c/),
      });
      await expect(tts.synthesize('Hello.', { voice: '3' })).rejects.toMatchObject({
        code: 'tts_voice_unknown',
      });
    } finally {
      await tts.close();
    }
  });
});

describe('SherpaTextToSpeech', () => {
  let tts: SherpaTextToSpeech;
  beforeAll(async () => {
    await piper;
    tts = new SherpaTextToSpeech({ voice: { name: 'tiny-piper', dir: piperDir }, logger });
  });
  afterAll(async () => {
    await tts.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("returns audio at the model's own sample rate", async () => {
    const dir = path.join(root, 'piper-16k');
    await writeTinyPiperVoice(dir, { sampleRate: 16_000 });
    const other = new SherpaTextToSpeech({ voice: { name: 'tiny-16k', dir }, logger });
    try {
      expect((await other.synthesize('Hi there.')).sampleRate).toBe(16_000);
    } finally {
      await other.close();
    }
    expect((await tts.synthesize('Hi there.')).sampleRate).toBe(22_050);
  });

  it('speaks slower at a lower speed', async () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    const slow = new SherpaTextToSpeech({ voice: { name: 'tiny', dir: piperDir }, speed: 0.5, logger });
    try {
      const normal = await tts.synthesize(text);
      const slower = await slow.synthesize(text);
      expect(slower.samples.length).toBeGreaterThan(normal.samples.length * 1.5);
    } finally {
      await slow.close();
    }
  });

  it('keeps concurrent calls apart and answers each', async () => {
    const texts = ['One.', 'Two two.', 'Three three three.', 'Four four four four.'];
    const results = await Promise.all(texts.map((t) => tts.synthesize(t)));
    const sequential = [];
    for (const t of texts) sequential.push(await tts.synthesize(t));
    expect(results.map((r) => r.samples.length)).toEqual(sequential.map((r) => r.samples.length));
  });

  it('names an unknown speaker', async () => {
    await expect(tts.synthesize('Hello.', { voice: 'af_nobody' })).rejects.toMatchObject({
      code: 'tts_voice_unknown',
    });
    await expect(tts.synthesize('Hello.', { voice: '7' })).rejects.toBeInstanceOf(ProviderError);
  });

  it('names what is missing in an incomplete voice directory', async () => {
    const dir = path.join(root, 'broken');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'voice.onnx'), 'not a model');
    const broken = new SherpaTextToSpeech({ voice: { name: 'broken', dir }, logger });
    const err = await broken.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(/tokens\.txt is missing/);
  });

  it('reports a model file that is not a model as a ProviderError', async () => {
    const dir = path.join(root, 'garbage');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'voice.onnx'), 'not a model');
    fs.copyFileSync(path.join(piperDir, 'tokens.txt'), path.join(dir, 'tokens.txt'));
    const garbage = new SherpaTextToSpeech({ voice: { name: 'garbage', dir }, logger });
    await expect(garbage.load()).rejects.toMatchObject({ code: 'tts_engine_failed' });
  });
});
