/**
 * JUNE_STT=auto: the whisper model chosen by memory, whisper preferred over pocketsphinx unless it cannot
 * be had (offline with nothing cached, or a model that fails to load), and what `june doctor` says.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { resolveSttKind } from '../factory.js';
import { whisperModelForMachine } from './whisper-factory.js';
import { SpeechToTextWithFallback } from './stt-fallback.js';
import { sttStatus, vadStatus } from './stt-status.js';
import { PocketsphinxSpeechToText } from './pocketsphinx.js';
import { WhisperSpeechToText } from './whisper.js';
import { spokenFixture } from './stt.behaviour.js';

const GiB = 1024 ** 3;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'june-stt-choice-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('JUNE_STT=auto', () => {
  it('picks the whisper model by memory (and cores for the largest)', () => {
    expect(whisperModelForMachine(2 * GiB, 2)).toBe('base.en');
    expect(whisperModelForMachine(3.9 * GiB, 16)).toBe('base.en');
    expect(whisperModelForMachine(4 * GiB, 2)).toBe('small.en-q5_1');
    expect(whisperModelForMachine(32 * GiB, 4)).toBe('small.en-q5_1');
    expect(whisperModelForMachine(16 * GiB, 8)).toBe('large-v3-turbo-q5_0');
  });

  it('means whisper (downloaded on first run) unless offline with nothing cached', () => {
    const online = configSchema.parse({ modelsDir: dir });
    expect(resolveSttKind(online)).toBe('whisper');
    expect(sttStatus(online, 'whisper').detail).toMatch(/downloads on first run.*pocketsphinx answers/);
    const offline = configSchema.parse({ modelsDir: dir, offline: true });
    expect(resolveSttKind(offline)).toBe('pocketsphinx');
    const status = sttStatus(offline, 'pocketsphinx');
    expect(status).toMatchObject({ ok: true, optional: true });
    expect(status.detail).toMatch(/pocketsphinx answers/);
    expect(status.fix).toMatch(/june models pull (base\.en|small\.en-q5_1|large-v3-turbo-q5_0)/);
  });

  it('falls back to pocketsphinx when the whisper model fails to load, and keeps answering', async () => {
    const broken = path.join(dir, 'ggml-broken.bin');
    await writeFile(broken, 'not a ggml model');
    const stt = new SpeechToTextWithFallback({
      primary: new WhisperSpeechToText({ modelPath: broken }),
      fallback: () => Promise.resolve(new PocketsphinxSpeechToText()),
    });
    try {
      await stt.load();
      expect(stt.fellBack).toBeTruthy();
      expect(stt.name).toBe('pocketsphinx');
      const t = await stt.transcribe(await spokenFixture('What is the weather like today?'));
      expect(typeof t.text).toBe('string');
    } finally {
      await stt.close();
    }
  }, 120_000);

  it('doctor says the Silero VAD downloads on first use, and that the energy gate stands in offline', () => {
    expect(vadStatus(configSchema.parse({ modelsDir: dir })).detail).toMatch(/downloads on first use/);
    const offline = vadStatus(configSchema.parse({ modelsDir: dir, offline: true }));
    expect(offline).toMatchObject({ ok: true, optional: true });
    expect(offline.detail).toMatch(/energy gate/);
    expect(vadStatus(configSchema.parse({ modelsDir: dir, vad: 'energy' })).detail).toMatch(/energy gate/);
  });
});
