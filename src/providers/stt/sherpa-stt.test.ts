/**
 * SherpaSpeechToText through the SpeechToText behaviour suite with a tiny SenseVoice-shaped model the
 * test writes itself (random weights, real signature and metadata): the real sherpa-onnx load →
 * transcribe path, without a model download. Content is not checked (the weights are random).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeSpeechToTextBehaviour, spokenFixture } from './stt.behaviour.js';
import { SherpaSpeechToText, sherpaModelConfig } from './sherpa-stt.js';
import { writeTinySenseVoice } from '../testing/tiny-stt-models.js';
import { ModelError } from '../../util/errors.js';

async function tinySenseVoiceStt() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'june-sensevoice-'));
  // 64 layers: a long clip then takes a real model's order of time, so a request can be cancelled mid-way.
  const files = await writeTinySenseVoice(dir, { layers: 64 });
  return {
    stt: new SherpaSpeechToText('sensevoice', { files: { engine: 'sensevoice', ...files } }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

describeSpeechToTextBehaviour('sherpa-onnx SenseVoice (tiny generated model)', tinySenseVoiceStt, {
  checksContent: false,
  maxSilenceWords: 50,
});

describe('SherpaSpeechToText', () => {
  it('reports the language SenseVoice identified, and text without its tags', async () => {
    const { stt, cleanup } = await tinySenseVoiceStt();
    try {
      const transcript = await stt.transcribe(await spokenFixture('Hello June.'));
      // The tiny model's first query frame is <|en|>; sherpa-onnx reports it as the language.
      expect(transcript.language).toBe('en');
      expect(transcript.text).not.toMatch(/<\|/);
    } finally {
      await stt.close();
      await cleanup();
    }
  }, 60_000);

  it('refuses a broken model file with a ModelError that says which engine', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'june-sensevoice-bad-'));
    try {
      const files = await writeTinySenseVoice(dir);
      const stt = new SherpaSpeechToText('sensevoice', {
        files: { engine: 'sensevoice', model: path.join(dir, 'tokens.txt'), tokens: files.tokens },
      });
      await expect(stt.load()).rejects.toBeInstanceOf(ModelError);
      await expect(stt.load()).rejects.toThrow(/sensevoice/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('builds the OfflineRecognizer config of each engine as sherpa-onnx-node names it', () => {
    expect(
      sherpaModelConfig(
        { engine: 'parakeet', encoder: 'e', decoder: 'd', joiner: 'j', tokens: 't' },
        'auto',
        2,
      ),
    ).toMatchObject({
      transducer: { encoder: 'e', decoder: 'd', joiner: 'j' },
      modelType: 'nemo_transducer',
      tokens: 't',
    });
    expect(
      sherpaModelConfig(
        {
          engine: 'moonshine',
          preprocessor: 'p',
          encoder: 'e',
          uncachedDecoder: 'u',
          cachedDecoder: 'c',
          tokens: 't',
        },
        'auto',
        1,
      ).moonshine,
    ).toEqual({ preprocessor: 'p', encoder: 'e', uncachedDecoder: 'u', cachedDecoder: 'c' });
    expect(
      sherpaModelConfig({ engine: 'sensevoice', model: 'm', tokens: 't' }, 'auto', 1).senseVoice?.language,
    ).toBe('');
    expect(
      sherpaModelConfig({ engine: 'sensevoice', model: 'm', tokens: 't' }, 'ja', 1).senseVoice?.language,
    ).toBe('ja');
  });
});
