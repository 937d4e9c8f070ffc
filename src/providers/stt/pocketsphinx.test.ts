import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../util/errors.js';
import { PocketsphinxSpeechToText } from './pocketsphinx.js';
import { describeSpeechToTextBehaviour, spokenFixture } from './stt.behaviour.js';
import { resamplePcm } from '../../audio/index.js';

describeSpeechToTextBehaviour('pocketsphinx (resident helper)', async () => ({
  stt: new PocketsphinxSpeechToText({ mode: 'helper' }),
}));

describeSpeechToTextBehaviour('pocketsphinx (pocketsphinx_continuous fallback)', async () => ({
  stt: new PocketsphinxSpeechToText({ mode: 'continuous' }),
}));

describe('PocketsphinxSpeechToText', () => {
  it('restarts the helper when it dies between requests', async () => {
    const stt = new PocketsphinxSpeechToText();
    try {
      await stt.load();
      expect(await stt.mode()).toBe('helper');
      const pid = await stt.helperPid();
      expect(pid).toBeGreaterThan(0);
      process.kill(pid!, 'SIGKILL');
      const speech = await spokenFixture('What is the weather like today?');
      const transcript = await stt.transcribe(speech);
      expect(transcript.text).toMatch(/weather/);
      const newPid = await stt.helperPid();
      expect(newPid).toBeGreaterThan(0);
      expect(newPid).not.toBe(pid);
    } finally {
      await stt.close();
    }
  });

  it('stops the helper process on close()', async () => {
    const stt = new PocketsphinxSpeechToText();
    await stt.load();
    const pid = (await stt.helperPid())!;
    expect(() => process.kill(pid, 0)).not.toThrow();
    await stt.close();
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect(await stt.helperPid()).toBeUndefined();
  });

  it('falls back to pocketsphinx_continuous when the helper cannot be built', async () => {
    // /proc refuses new directories even for root, so the build fails for sure.
    const stt = new PocketsphinxSpeechToText({ helperDir: '/proc/june-no-such-dir' });
    try {
      expect(await stt.mode()).toBe('continuous');
      const transcript = await stt.transcribe(await spokenFixture('What is the weather like today?'));
      expect(transcript.text).toMatch(/weather/);
    } finally {
      await stt.close();
    }
  });

  it('fails clearly in "helper" mode when the helper cannot be built', async () => {
    const stt = new PocketsphinxSpeechToText({ mode: 'helper', helperDir: '/proc/june-no-such-dir' });
    await expect(stt.load()).rejects.toMatchObject({ code: 'stt_engine_missing' });
  });

  it('refuses languages other than English instead of returning English-sounding noise', async () => {
    const stt = new PocketsphinxSpeechToText({ mode: 'continuous' });
    const speech = await spokenFixture('bonjour', 'fr');
    const err = await stt.transcribe(speech, { language: 'fr' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'stt_language_unsupported' });
    // English hints and auto-detection are fine.
    const en = await stt.transcribe(
      { sampleRate: 16_000, samples: new Float32Array(1600) },
      { language: 'en-US' },
    );
    expect(en.language).toBe('en');
  });

  it('accepts audio at other sample rates by resampling to 16 kHz', async () => {
    const stt = new PocketsphinxSpeechToText();
    try {
      const speech = await spokenFixture('What is the weather like today?');
      const at48k = resamplePcm(speech, 48_000);
      const transcript = await stt.transcribe(at48k);
      expect(transcript.text).toMatch(/weather/);
      expect(transcript.segments?.at(-1)?.endSec).toBeLessThanOrEqual(speech.samples.length / 16_000 + 0.1);
    } finally {
      await stt.close();
    }
  });
});
