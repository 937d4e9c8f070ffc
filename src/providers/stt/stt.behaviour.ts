/**
 * The behaviour every SpeechToText must show, run against each implementation from its own test file:
 *
 *   describeSpeechToTextBehaviour('pocketsphinx', async () => ({ stt: new PocketsphinxSpeechToText() }));
 *
 * Speech comes from espeak-ng resampled to 16 kHz by ffmpeg, so the suite needs no recordings. Small
 * engines recognise synthetic speech poorly, hence the sentence and loose keyword check; engines that
 * cannot be held to content (a tiny test model) pass `checksContent: false`.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PcmAudio, SpeechToText, Transcript } from '../types.js';
import { CancelledError } from '../../util/errors.js';
import { wordErrorRate } from '../../eval/wer.js';

export interface SpeechToTextBehaviourOptions {
  /**
   * Check what was recognised (default true): key words of the sentence, and identical results for the
   * same audio. Off, only the shape of each transcript is checked.
   */
  checksContent?: boolean;
  /** The sentence spoken, and words of which at least `minKeywords` must be recognised. */
  sentence?: { text: string; keywords: string[]; minKeywords: number };
  /** Largest word count still accepted as "near-empty" for silence (default 3: whisper says "you"). */
  maxSilenceWords?: number;
}

export interface SpeechToTextUnderTest {
  stt: SpeechToText;
  cleanup?: () => Promise<void>;
}

const DEFAULT_SENTENCE = {
  text: 'What is the weather like today?',
  keywords: ['what', 'weather', 'like', 'today'],
  minKeywords: 2,
};

const SAMPLE_RATE = 16_000;
const fixtureCache = new Map<string, Promise<PcmAudio>>();

/** `text` spoken by espeak-ng (voice en-us) as 16 kHz mono PCM; cached per process. */
export function spokenFixture(text: string, voice = 'en-us'): Promise<PcmAudio> {
  const key = `${voice}\u0000${text}`;
  let audio = fixtureCache.get(key);
  if (!audio) {
    audio = synthesise16k(text, voice);
    fixtureCache.set(key, audio);
  }
  return audio;
}

/** Digital silence with a little deterministic noise, as a quiet room gives. */
export function quietRoom(seconds: number): PcmAudio {
  const samples = new Float32Array(Math.round(seconds * SAMPLE_RATE));
  let seed = 12345;
  for (let i = 0; i < samples.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    samples[i] = (seed / 0x7fffffff - 0.5) * 0.0005; // about -72 dBFS
  }
  return { sampleRate: SAMPLE_RATE, samples };
}

/** `audio` repeated `times` times with half a second of silence between, for long-running requests. */
export function repeated(audio: PcmAudio, times: number): PcmAudio {
  const gap = Math.round(audio.sampleRate / 2);
  const samples = new Float32Array((audio.samples.length + gap) * times);
  for (let i = 0; i < times; i++) samples.set(audio.samples, i * (audio.samples.length + gap));
  return { sampleRate: audio.sampleRate, samples };
}

export function describeSpeechToTextBehaviour(
  name: string,
  makeStt: () => Promise<SpeechToTextUnderTest>,
  options: SpeechToTextBehaviourOptions = {},
): void {
  const { checksContent = true, sentence = DEFAULT_SENTENCE, maxSilenceWords = 3 } = options;

  describe(`SpeechToText behaviour: ${name}`, () => {
    let subject: SpeechToTextUnderTest;
    let speech: PcmAudio;

    beforeAll(async () => {
      [subject, speech] = await Promise.all([makeStt(), spokenFixture(sentence.text)]);
    });

    afterAll(async () => {
      await subject?.stt.close();
      await subject?.cleanup?.();
    });

    it('has a name and loads idempotently; a second load costs nothing', async () => {
      const { stt } = subject;
      expect(stt.name).toMatch(/\S/);
      await Promise.all([stt.load(), stt.load()]);
      const t0 = performance.now();
      await stt.load();
      expect(performance.now() - t0).toBeLessThan(500);
    });

    it('transcribes a spoken sentence', async () => {
      const transcript = await subject.stt.transcribe(speech);
      expectWellFormed(transcript, speech);
      if (checksContent) {
        const words: string[] = transcript.text.toLowerCase().match(/[\p{L}']+/gu) ?? [];
        const found = sentence.keywords.filter((k) => words.includes(k));
        expect(found.length, `recognised "${transcript.text}"`).toBeGreaterThanOrEqual(sentence.minKeywords);
      }
    });

    it('returns empty or near-empty text for silence, without throwing', async () => {
      const silence = quietRoom(1.5);
      const transcript = await subject.stt.transcribe(silence);
      expectWellFormed(transcript, silence);
      const words = transcript.text.split(/\s+/).filter(Boolean);
      expect(words.length, `recognised "${transcript.text}"`).toBeLessThanOrEqual(maxSilenceWords);
    });

    it('gives the same result twice in a row (the model stays loaded, no state leaks between requests)', async () => {
      const first = await subject.stt.transcribe(speech);
      const t0 = performance.now();
      const second = await subject.stt.transcribe(speech);
      const secondMs = performance.now() - t0;
      expectWellFormed(second, speech);
      if (checksContent) expect(wordErrorRate(first.text, second.text).wer).toBeLessThanOrEqual(0.25);
      // Reloading a model for every request would show up as a second request far slower than audio.
      expect(secondMs).toBeLessThan(20_000);
    });

    it('rejects with CancelledError when aborted, before or during a request, and keeps working', async () => {
      const { stt } = subject;
      const before = new AbortController();
      before.abort();
      await expect(stt.transcribe(speech, { signal: before.signal })).rejects.toBeInstanceOf(CancelledError);

      const during = new AbortController();
      const long = repeated(speech, 6);
      const pending = stt.transcribe(long, { signal: during.signal });
      setTimeout(() => during.abort(), 30);
      await expect(pending).rejects.toBeInstanceOf(CancelledError);

      const after = await stt.transcribe(speech);
      expectWellFormed(after, speech);
      if (checksContent) expect(after.text.length).toBeGreaterThan(0);
    });

    it('closes cleanly, and a second close is harmless', async () => {
      const extra = await makeStt();
      try {
        await extra.stt.load();
        await extra.stt.close();
        await expect(extra.stt.close()).resolves.toBeUndefined();
      } finally {
        await extra.cleanup?.();
      }
    });
  });
}

function expectWellFormed(transcript: Transcript, audio: PcmAudio): void {
  expect(typeof transcript.text).toBe('string');
  expect(transcript.text).toBe(transcript.text.trim());
  if (transcript.language !== undefined) expect(transcript.language).toMatch(/^[a-z]{2,3}([-_][A-Za-z]+)?$/);
  if (transcript.confidence !== undefined) {
    expect(transcript.confidence).toBeGreaterThanOrEqual(0);
    expect(transcript.confidence).toBeLessThanOrEqual(1);
  }
  const duration = audio.samples.length / audio.sampleRate;
  for (const seg of transcript.segments ?? []) {
    expect(seg.startSec).toBeGreaterThanOrEqual(0);
    expect(seg.endSec).toBeGreaterThanOrEqual(seg.startSec);
    expect(seg.endSec).toBeLessThanOrEqual(duration + 0.5);
  }
}

/** espeak-ng WAV on stdout → ffmpeg → 16 kHz mono f32le. Arguments only, never a shell. */
async function synthesise16k(text: string, voice: string): Promise<PcmAudio> {
  const espeak = spawn('espeak-ng', ['-v', voice, '--stdout', text], { stdio: ['ignore', 'pipe', 'pipe'] });
  const ffmpeg = spawn(
    'ffmpeg',
    ['-v', 'error', '-i', 'pipe:0', '-ar', String(SAMPLE_RATE), '-ac', '1', '-f', 'f32le', 'pipe:1'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  espeak.stdout.pipe(ffmpeg.stdin);
  const chunks: Buffer[] = [];
  ffmpeg.stdout.on('data', (c: Buffer) => chunks.push(c));
  let stderr = '';
  ffmpeg.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [espeakCode, ffmpegCode] = await Promise.all([exitCode(espeak), exitCode(ffmpeg)]);
  if (espeakCode !== 0 || ffmpegCode !== 0) {
    throw new Error(`fixture synthesis failed (espeak-ng ${espeakCode}, ffmpeg ${ffmpegCode}): ${stderr}`);
  }
  const bytes = Buffer.concat(chunks);
  // Copy into an aligned buffer: Float32Array needs a 4-byte-aligned offset.
  const samples = new Float32Array(bytes.length / 4);
  new Uint8Array(samples.buffer).set(bytes.subarray(0, samples.length * 4));
  return { sampleRate: SAMPLE_RATE, samples };
}

function exitCode(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
}
