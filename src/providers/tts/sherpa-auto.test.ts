import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { ESPEAK_SAMPLE_RATE } from './espeak.js';
import { createTextToSpeech } from '../factory.js';
import { writeTinyPiperVoice } from '../testing/tiny-tts-models.js';
import { sherpaVoiceFor, DEFAULT_SHERPA_VOICE } from './sherpa-voices.js';
import type { NeuralVoiceWithFallback } from './sherpa-auto.js';

interface LogLine {
  level: number;
  msg: string;
}

function capturingLogger() {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'june-tts-auto-'));
const config = (env: Record<string, string>) =>
  loadConfig({
    env: {
      JUNE_MODELS_DIR: path.join(root, 'models'),
      JUNE_DATA_DIR: path.join(root, 'data'),
      // nothing listens here: the release host is "not reachable"
      JUNE_MODEL_RELEASE_BASE_URL: 'http://127.0.0.1:9',
      ...env,
    },
  });

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the voice chosen by language', () => {
  it('is Kokoro by default and for English, Piper for some languages, none (espeak-ng) for others', () => {
    expect(sherpaVoiceFor(undefined)).toBe(DEFAULT_SHERPA_VOICE);
    expect(sherpaVoiceFor('en-GB')).toBe(DEFAULT_SHERPA_VOICE);
    expect(sherpaVoiceFor('de')).toMatch(/^vits-piper-de_DE-/);
    expect(sherpaVoiceFor('pt_BR')).toMatch(/^vits-piper-pt_BR-/);
    expect(sherpaVoiceFor('ka')).toBeUndefined();
    expect(sherpaVoiceFor('ka', '/my/voice')).toBe('/my/voice');
  });
});

describe('JUNE_TTS=auto', () => {
  it('answers with espeak-ng when the neural voice cannot be downloaded, and says so once', async () => {
    const { logger, lines } = capturingLogger();
    const tts = await createTextToSpeech(config({ JUNE_TTS: 'auto' }), { logger });
    try {
      await tts.load();
      const first = await tts.synthesize('Hello there.', { language: 'en' });
      const second = await tts.synthesize('How are you?', { language: 'en' });
      for (const pcm of [first, second]) {
        expect(pcm.sampleRate).toBe(ESPEAK_SAMPLE_RATE);
        expect(pcm.samples.length).toBeGreaterThan(ESPEAK_SAMPLE_RATE / 4);
      }
      const warnings = lines.filter((l) => l.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toMatch(/neural voice kokoro-multi-lang-v1_0 cannot be had.*espeak-ng/);
      expect(warnings[0]!.msg).toMatch(/not reachable/); // the downloader's offline message, with its hint
      expect((tts as NeuralVoiceWithFallback).state('en')).toMatchObject({
        ref: DEFAULT_SHERPA_VOICE,
        unavailable: expect.stringMatching(/not reachable/),
      });
    } finally {
      await tts.close();
    }
  });

  it('with JUNE_OFFLINE, never tries to download and still answers', async () => {
    const { logger, lines } = capturingLogger();
    const tts = await createTextToSpeech(config({ JUNE_TTS: 'auto', JUNE_OFFLINE: 'true' }), { logger });
    try {
      const pcm = await tts.synthesize('Guten Tag.', { language: 'de' });
      expect(pcm.sampleRate).toBe(ESPEAK_SAMPLE_RATE);
      const warnings = lines.filter((l) => l.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toMatch(/vits-piper-de_DE.*downloads are turned off/);
    } finally {
      await tts.close();
    }
  });

  it('speaks with the neural voice when it is there, and leaves languages without one to espeak-ng', async () => {
    const dir = path.join(root, 'my-voice');
    await writeTinyPiperVoice(dir, { sampleRate: 16_000 });
    const { logger, lines } = capturingLogger();
    const tts = await createTextToSpeech(config({ JUNE_TTS: 'auto', JUNE_TTS_SHERPA_MODEL: dir }), {
      logger,
    });
    try {
      await tts.load();
      expect((await tts.synthesize('Hello there.', { language: 'en' })).sampleRate).toBe(16_000);
      expect(lines.filter((l) => l.level >= 40)).toEqual([]);
    } finally {
      await tts.close();
    }
    const byLanguage = await createTextToSpeech(config({ JUNE_TTS: 'auto' }), { logger });
    try {
      expect((await byLanguage.synthesize('Gamarjoba.', { language: 'ka' })).sampleRate).toBe(
        ESPEAK_SAMPLE_RATE,
      );
      expect((await byLanguage.synthesize('Gamarjoba.', { language: 'ka' })).sampleRate).toBe(
        ESPEAK_SAMPLE_RATE,
      );
      expect(lines.filter((l) => /no neural voice for language ka/.test(l.msg))).toHaveLength(1);
    } finally {
      await byLanguage.close();
    }
  });
});

describe('JUNE_TTS=sherpa', () => {
  let logger: ReturnType<typeof capturingLogger>['logger'];
  beforeAll(() => {
    logger = capturingLogger().logger;
  });

  it('does not fall back: a voice that cannot be had is the error', async () => {
    const tts = await createTextToSpeech(config({ JUNE_TTS: 'sherpa', JUNE_OFFLINE: 'true' }), { logger });
    try {
      await expect(tts.synthesize('Hello.', { language: 'en' })).rejects.toMatchObject({
        code: 'model_offline',
      });
    } finally {
      await tts.close();
    }
  });
});
