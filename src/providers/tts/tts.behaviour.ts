/**
 * The behaviour every TextToSpeech must show, run against each implementation from its own test file:
 *
 *   describeTextToSpeechBehaviour('espeak-ng', async () => ({ tts: new EspeakTextToSpeech() }));
 *
 * Decisions the suite pins down for all engines:
 *  - text with nothing pronounceable (empty, spaces, punctuation, only markup) gives EMPTY AUDIO, not an
 *    error: a reply can contain such a "sentence" and the turn must go on;
 *  - markup-looking tags are not read aloud;
 *  - the audio is intelligible: pocketsphinx (June's offline recogniser) hears the key words.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PcmAudio, TextToSpeech } from '../types.js';
import { CancelledError } from '../../util/errors.js';
import { PocketsphinxSpeechToText } from '../stt/pocketsphinx.js';

export interface TextToSpeechBehaviourOptions {
  /** Transcribe the output with pocketsphinx and look for key words (default true). */
  checksIntelligibility?: boolean;
}

export interface TextToSpeechUnderTest {
  tts: TextToSpeech;
  cleanup?: () => Promise<void>;
}

const SHORT = 'Hello.';
const LONG =
  'Hello. This is a much longer sentence, with several clauses, that should take a good deal longer to say.';

/** Inputs that have broken speech engines or the way they are called. */
const AWKWARD_TEXTS = [
  'He said "hello" and \'goodbye\' — then left… (quietly); 50% of $10 = $5!',
  'Ça va? Grüße aus Köln. Ñandú, smörgåsbord, Œuvre.',
  'I ❤️ pizza 🍕 and 👨‍👩‍👧 families!',
  '--help -v xx --stdout',
  '$(touch /tmp/june-pwned) `id` ; echo pwned | cat && true',
  'Tab\there, NUL\u0000here, newline\nhere.',
  'Chinese 你好, Russian привет, Arabic مرحبا.',
];

export function describeTextToSpeechBehaviour(
  name: string,
  makeTts: () => Promise<TextToSpeechUnderTest>,
  options: TextToSpeechBehaviourOptions = {},
): void {
  const { checksIntelligibility = true } = options;

  describe(`TextToSpeech behaviour: ${name}`, () => {
    let subject: TextToSpeechUnderTest;
    let stt: PocketsphinxSpeechToText | undefined;

    beforeAll(async () => {
      subject = await makeTts();
      if (checksIntelligibility) stt = new PocketsphinxSpeechToText();
    });

    afterAll(async () => {
      await subject?.tts.close();
      await subject?.cleanup?.();
      await stt?.close();
    });

    it('has a name and loads idempotently', async () => {
      expect(subject.tts.name).toMatch(/\S/);
      await Promise.all([subject.tts.load(), subject.tts.load()]);
      await expect(subject.tts.load()).resolves.toBeUndefined();
    });

    it('produces audible mono PCM at a sane sample rate', async () => {
      const pcm = await subject.tts.synthesize(SHORT);
      expectSaneAudio(pcm);
      expect(durationSec(pcm)).toBeGreaterThan(0.2);
      expect(durationSec(pcm)).toBeLessThan(5);
    });

    it('takes longer to say a longer text', async () => {
      const short = await subject.tts.synthesize(SHORT);
      const long = await subject.tts.synthesize(LONG);
      expect(durationSec(long)).toBeGreaterThan(durationSec(short) * 3);
    });

    it.runIf(checksIntelligibility)('says the words (pocketsphinx hears them)', async () => {
      const pcm = await subject.tts.synthesize('What is the weather like today?', { language: 'en' });
      const { text } = await stt!.transcribe(pcm);
      const words = text.toLowerCase().split(/\s+/);
      const found = ['what', 'weather', 'like', 'today'].filter((w) => words.includes(w));
      expect(found.length, `pocketsphinx heard "${text}"`).toBeGreaterThanOrEqual(2);
    });

    it('speaks punctuation, quotes, accents, emoji, other scripts and option-like text safely', async () => {
      for (const text of AWKWARD_TEXTS) {
        const pcm = await subject.tts.synthesize(text);
        expectSaneAudio(pcm);
        expect(durationSec(pcm), text).toBeGreaterThan(0.3);
      }
    });

    it('does not read markup tags aloud', async () => {
      const plain = await subject.tts.synthesize('Hello world.');
      const tagged = await subject.tts.synthesize(
        '<speak><prosody rate="slow">Hello</prosody> <break time="1s"/> world.</speak>',
      );
      expectSaneAudio(tagged);
      // Reading "less than speak greater than …" out would at least double the length.
      expect(durationSec(tagged)).toBeLessThan(durationSec(plain) * 1.4);
    });

    it('gives empty audio, not an error, for text with nothing to say', async () => {
      for (const text of ['', '   ', '\n\t', '...', '<break time="1s"/>']) {
        const pcm = await subject.tts.synthesize(text);
        expect(pcm.samples.length, JSON.stringify(text)).toBe(0);
        expect(pcm.sampleRate).toBeGreaterThan(0);
      }
    });

    it('picks a voice for the language and still speaks for an unknown one', async () => {
      const fr = await subject.tts.synthesize('Bonjour, comment allez-vous ?', { language: 'fr' });
      expectSaneAudio(fr);
      const unknown = await subject.tts.synthesize('Hello there.', { language: 'xx-unknown' });
      expectSaneAudio(unknown);
    });

    it('rejects with CancelledError when aborted, before or during synthesis, and keeps working', async () => {
      const before = new AbortController();
      before.abort();
      await expect(subject.tts.synthesize(SHORT, { signal: before.signal })).rejects.toBeInstanceOf(
        CancelledError,
      );
      const during = new AbortController();
      const pending = subject.tts.synthesize(LONG.repeat(8), { signal: during.signal });
      setTimeout(() => during.abort(), 20);
      await expect(pending).rejects.toBeInstanceOf(CancelledError);
      expectSaneAudio(await subject.tts.synthesize(SHORT));
    });

    it('closes cleanly, and a second close is harmless', async () => {
      const extra = await makeTts();
      try {
        await extra.tts.load();
        await extra.tts.close();
        await expect(extra.tts.close()).resolves.toBeUndefined();
      } finally {
        await extra.cleanup?.();
      }
    });
  });
}

function durationSec(pcm: PcmAudio): number {
  return pcm.samples.length / pcm.sampleRate;
}

function expectSaneAudio(pcm: PcmAudio): void {
  expect(pcm.sampleRate).toBeGreaterThanOrEqual(8000);
  expect(pcm.sampleRate).toBeLessThanOrEqual(48_000);
  expect(pcm.samples).toBeInstanceOf(Float32Array);
  expect(pcm.samples.length).toBeGreaterThan(0);
  let sumSquares = 0;
  let outOfRange = 0;
  for (const v of pcm.samples) {
    if (!(Number.isFinite(v) && v >= -1 && v <= 1)) outOfRange++;
    sumSquares += v * v;
  }
  expect(outOfRange).toBe(0);
  // Speech, not silence: RMS above about -40 dBFS.
  expect(Math.sqrt(sumSquares / pcm.samples.length)).toBeGreaterThan(0.01);
}
