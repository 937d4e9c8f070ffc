import { existsSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../util/errors.js';
import { ESPEAK_SAMPLE_RATE, EspeakTextToSpeech } from './espeak.js';
import { describeTextToSpeechBehaviour } from './tts.behaviour.js';

describeTextToSpeechBehaviour('espeak-ng', async () => ({ tts: new EspeakTextToSpeech() }));

describe('EspeakTextToSpeech', () => {
  const tts = new EspeakTextToSpeech();

  it("returns audio at espeak-ng's own rate, 22050 Hz", async () => {
    expect((await tts.synthesize('Hi.')).sampleRate).toBe(ESPEAK_SAMPLE_RATE);
  });

  it('never runs text through a shell', async () => {
    const marker = '/tmp/june-espeak-pwned';
    rmSync(marker, { force: true });
    await tts.synthesize(`$(touch ${marker}) \`touch ${marker}\`; touch ${marker}`);
    expect(existsSync(marker)).toBe(false);
  });

  it('speaks faster at a higher rate', async () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    const slow = await new EspeakTextToSpeech({ rate: 120 }).synthesize(text);
    const fast = await new EspeakTextToSpeech({ rate: 300 }).synthesize(text);
    expect(fast.samples.length).toBeLessThan(slow.samples.length * 0.7);
  });

  it('uses a fixed voice when one is configured, per call or per instance', async () => {
    const text = 'Bonjour tout le monde.';
    const french = await tts.synthesize(text, { language: 'fr' });
    const forcedEnglish = await new EspeakTextToSpeech({ voice: 'en-us' }).synthesize(text, {
      language: 'fr',
    });
    const perCall = await tts.synthesize(text, { language: 'fr', voice: 'en-us' });
    // Same text, different pronunciation rules: the lengths differ, and the two English runs agree.
    expect(forcedEnglish.samples.length).not.toBe(french.samples.length);
    expect(perCall.samples.length).toBe(forcedEnglish.samples.length);
  });

  it('reports an unknown voice as a ProviderError that says so', async () => {
    const err = await tts.synthesize('Hello.', { voice: 'nosuchvoice' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'tts_voice_unknown' });
    expect(() => new EspeakTextToSpeech({ voice: '--help' })).toThrow(ProviderError);
  });

  it('reports a missing espeak-ng clearly', async () => {
    const missing = new EspeakTextToSpeech({ binary: '/nonexistent/espeak-ng' });
    await expect(missing.load()).rejects.toMatchObject({ code: 'tts_engine_missing' });
    await expect(missing.synthesize('Hello.')).rejects.toMatchObject({ code: 'tts_engine_missing' });
  });
});
