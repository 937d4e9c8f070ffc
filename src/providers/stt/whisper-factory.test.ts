import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyWhisperModel } from '../../../test/helpers/tiny-whisper-model.js';
import { configSchema } from '../../config/schema.js';
import { ConfigError, ModelError } from '../../util/errors.js';
import { createWhisperSpeechToText, whisperModelRef } from './whisper-factory.js';
import { defaultWhisperVocabPath } from '../../../test/helpers/tiny-whisper-model.js';
import { existsSync } from 'node:fs';

/** The tiny model uses Whisper's real vocabulary from ../shared; without it these tests cannot run. */
const hasVocab = existsSync(defaultWhisperVocabPath);
if (!hasVocab) console.warn(`skipped: ${defaultWhisperVocabPath} not found (../shared/data is not present)`);

const logger = pino({ level: 'silent' });

describe('whisperModelRef', () => {
  it('passes registry names through and accepts the whisper- prefix and file names', () => {
    expect(whisperModelRef('base.en')).toBe('base.en');
    expect(whisperModelRef('whisper-base.en')).toBe('base.en');
    expect(whisperModelRef('ggml-tiny.en.bin')).toBe('ggml-tiny.en.bin');
    expect(whisperModelRef('/models/ggml-custom.bin')).toBe('/models/ggml-custom.bin');
    expect(whisperModelRef('custom.bin')).toBe('custom.bin');
  });

  it('refuses a registry model of another kind', () => {
    expect(() => whisperModelRef('qwen3-0.6b')).toThrow(ConfigError);
  });
});

describe.skipIf(!hasVocab)('createWhisperSpeechToText', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'june-whisper-factory-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates without touching the model, and loads a model given by path on first use', async () => {
    const file = path.join(dir, 'ggml-tiny-random.en.bin');
    const config = configSchema.parse({ sttModel: file, sttLanguage: 'en', modelsDir: dir, offline: true });
    const stt = createWhisperSpeechToText(config, { logger });
    expect(stt.name).toBe('whisper');
    await writeTinyWhisperModel(file); // only now does the file exist: creation did not look for it
    const t = await stt.transcribe({ sampleRate: 16_000, samples: new Float32Array(16_000) });
    expect(typeof t.text).toBe('string');
    expect(t.language).toBe('en');
    await stt.close();
  });

  it('fails on load, not on creation, when an offline registry model is not cached', async () => {
    const config = configSchema.parse({
      sttModel: 'base.en',
      modelsDir: path.join(dir, 'empty'),
      offline: true,
    });
    const stt = createWhisperSpeechToText(config, { logger });
    const err = await stt.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(['model_offline', 'model_not_found']).toContain((err as ModelError).code);
  });
});
