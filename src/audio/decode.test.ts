import { readdir } from 'node:fs/promises';
import os from 'node:os';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioError, CancelledError, StageTimeoutError } from '../util/errors.js';
import { decodeAudio, DECODE_TEMP_PREFIX, type DecodeOptions } from './decode.js';
import {
  childCommands,
  correlation,
  envelopeDb,
  FixtureDir,
  pseudoRandomBytes,
  referenceSamples,
  run,
  TEN_SECOND_TEXT,
  withFfmpegSpy,
  withoutEngines,
} from './test-fixtures.js';

const quiet = pino({ level: 'silent' });
const limits: DecodeOptions = { maxBytes: 20 * 1024 * 1024, maxSeconds: 600, logger: quiet };

let fx: FixtureDir;
let referenceSec: number;
let reference: Float32Array;

async function decodeFile(name: string, opts: Partial<DecodeOptions> = {}) {
  return decodeAudio(await fx.read(name), { ...limits, ...opts });
}

/** Resolves to the AudioError (or other error) a decode rejects with. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error('expected the decode to fail, but it succeeded');
  return err;
}

async function expectAudioError(promise: Promise<unknown>, code: AudioError['code']): Promise<AudioError> {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(AudioError);
  const audioErr = err as AudioError;
  expect(audioErr.code).toBe(code);
  expect(audioErr.retryable).toBe(false);
  // A sentence for a chat app: no stack, no ffmpeg jargon.
  expect(audioErr.userMessage).toMatch(/^[A-Z].*\.$/);
  expect(audioErr.userMessage).not.toMatch(/ffmpeg:|pipe:|\bat \w+ \(/);
  return audioErr;
}

function truncate(buf: Buffer, fraction: number): Buffer {
  return buf.subarray(0, Math.floor(buf.length * fraction));
}

/**
 * How many seconds of audio an ffmpeg command line decodes: 0 when it only copies packets (`-c copy`),
 * its output limit (`-t`) when it has one, otherwise all of it (Infinity).
 */
function secondsDecoded(args: string[]): number {
  const valueOf = (...names: string[]) => {
    const i = args.findIndex((a) => names.includes(a));
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (valueOf('-c', '-c:a', '-acodec', '-codec', '-codec:a') === 'copy') return 0;
  const limit = valueOf('-t');
  return limit === undefined ? Infinity : Number(limit);
}

const decodeTempDirs = async () =>
  (await readdir(os.tmpdir())).filter((n) => n.startsWith(DECODE_TEMP_PREFIX));

beforeAll(async () => {
  fx = await FixtureDir.create();
  fx.speak('speech.wav', TEN_SECOND_TEXT);
  fx.convert('speech.wav', 'voice.ogg', ['-c:a', 'libopus', '-b:a', '24k', '-application', 'voip']);
  fx.convert('speech.wav', 'speech.mp3', ['-c:a', 'libmp3lame', '-b:a', '64k']);
  fx.convert('speech.wav', 'faststart.m4a', ['-c:a', 'aac', '-b:a', '64k', '-movflags', '+faststart']);
  fx.convert('speech.wav', 'moov-at-end.m4a', ['-c:a', 'aac', '-b:a', '64k']);
  fx.convert('speech.wav', 'browser.webm', ['-c:a', 'libopus', '-b:a', '32k']);
  fx.convert('speech.wav', 'speech.flac', []);
  fx.convert('speech.wav', 'stereo-44k.wav', ['-ac', '2', '-ar', '44100']);
  // Long inputs are built by stream-copying a one-minute file, which takes no encoding time.
  fx.convert('speech.wav', 'minute.ogg', ['-af', 'apad', '-t', '60', '-c:a', 'libopus', '-b:a', '16k']);
  fx.convert('speech.wav', 'minute.mp3', ['-af', 'apad', '-t', '60', '-c:a', 'libmp3lame', '-b:a', '32k']);
  run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-stream_loop',
    '59',
    '-i',
    fx.path('minute.ogg'),
    '-c',
    'copy',
    fx.path('hour.ogg'),
  ]);
  run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-stream_loop',
    '59',
    '-i',
    fx.path('minute.mp3'),
    '-c',
    'copy',
    fx.path('hour.mp3'),
  ]);
  run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-stream_loop',
    '9',
    '-i',
    fx.path('minute.ogg'),
    '-c',
    'copy',
    fx.path('ten-min.ogg'),
  ]);
  fx.lavfi('image.png', 'testsrc=size=64x64:duration=1', ['-frames:v', '1']);
  fx.lavfi('silent-video.mp4', 'testsrc=size=64x64:duration=2', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
  reference = referenceSamples(fx.path('speech.wav'));
  referenceSec = reference.length / 16000;
});

afterAll(async () => {
  await fx?.remove();
});

describe('decodeAudio: formats users send', () => {
  it.each([
    ['voice.ogg', 'ogg/opus'],
    ['speech.mp3', 'mp3/mp3'],
    ['faststart.m4a', 'mp4/aac'],
    ['moov-at-end.m4a', 'mp4/aac'],
    ['browser.webm', 'webm/opus'],
    ['speech.flac', 'flac/flac'],
    ['speech.wav', 'wav/pcm_s16le'],
    ['stereo-44k.wav', 'wav/pcm_s16le'],
  ])('%s → 16 kHz mono PCM of the same speech', async (name, format) => {
    const input = await fx.read(name);
    const decoded = await decodeAudio(input, limits);
    expect(decoded.pcm.sampleRate).toBe(16000);
    expect(decoded.format).toBe(format);
    expect(decoded.inputBytes).toBe(input.length);
    expect(decoded.durationSec).toBeCloseTo(decoded.pcm.samples.length / 16000, 6);
    expect(Math.abs(decoded.durationSec - referenceSec)).toBeLessThan(0.1);
    // Same words in the same places: the loudness contour follows the uncompressed original.
    const r = correlation(envelopeDb(decoded.pcm.samples), envelopeDb(reference));
    expect(r).toBeGreaterThan(0.9);
  });

  it('decodes an M4A whose moov atom is at the end, which a pipe cannot, via a temp file it removes', async () => {
    const input = await fx.read('moov-at-end.m4a');
    // Precondition: ffmpeg itself cannot decode this file from stdin.
    const piped = run('sh', ['-c', 'ffmpeg -v quiet -i pipe:0 -f f32le -ac 1 -ar 16000 pipe:1; true'], input);
    expect(piped.length).toBe(0);
    const before = await decodeTempDirs();
    const decoded = await decodeAudio(input, limits);
    expect(Math.abs(decoded.durationSec - referenceSec)).toBeLessThan(0.1);
    expect((await decodeTempDirs()).filter((d) => !before.includes(d))).toEqual([]);
  });

  it('accepts espeak-ng WAV from stdout, whose size fields are placeholders', async () => {
    const streamed = run('espeak-ng', ['--stdout', TEN_SECOND_TEXT]);
    expect(streamed.readUInt32LE(40)).toBeGreaterThan(streamed.length); // data size is not real
    const decoded = await decodeAudio(streamed, limits);
    expect(Math.abs(decoded.durationSec - referenceSec)).toBeLessThan(0.05);
  });
});

describe('decodeAudio: bad input', () => {
  it('rejects 0 bytes as audio_empty without spawning anything', async () => {
    const err = await withoutEngines(() =>
      expectAudioError(decodeAudio(Buffer.alloc(0), limits), 'audio_empty'),
    );
    expect(err.userMessage).toMatch(/empty/);
  });

  it('rejects input over maxBytes before spawning anything', async () => {
    const input = await fx.read('voice.ogg');
    const err = await withoutEngines(() =>
      expectAudioError(decodeAudio(input, { ...limits, maxBytes: input.length - 1 }), 'audio_too_large'),
    );
    expect(err.userMessage).toMatch(/too large \(\d+ KB\); the limit is \d+ KB\./);
  });

  it.each([37, 222, 1000, 50_000])('rejects %i random bytes as audio_not_audio', async (size) => {
    await expectAudioError(decodeAudio(pseudoRandomBytes(size, `noise-${size}`), limits), 'audio_not_audio');
  });

  it('rejects text and a PNG as audio_not_audio', async () => {
    const text = Buffer.from('Hello June, this is a note I meant to type, not record.\nSecond line.\n');
    await expectAudioError(decodeAudio(text, limits), 'audio_not_audio');
    const png = await expectAudioError(decodeFile('image.png'), 'audio_not_audio');
    expect(png.userMessage).toMatch(/does not look like audio/);
  });

  it('rejects audio in a codec ffmpeg has no decoder for as audio_unsupported', async () => {
    const wav = Buffer.from(await fx.read('speech.wav'));
    wav.writeUInt16LE(0x1234, 20); // an unassigned WAVE format tag
    const err = await expectAudioError(decodeAudio(wav, limits), 'audio_unsupported');
    expect(err.userMessage).toMatch(/encoding I cannot decode/);
  });

  it('rejects a video without an audio track, saying the sound track is missing', async () => {
    const err = await expectAudioError(decodeFile('silent-video.mp4'), 'audio_not_audio');
    expect(err.userMessage).toMatch(/no sound track/);
  });

  // Policy (see decode.ts): a visibly cut-short file is corrupt, never decoded as a partial clip.
  it('rejects the first 40 % of an OGG voice note as audio_corrupt, without spawning ffmpeg', async () => {
    const head = truncate(await fx.read('voice.ogg'), 0.4);
    await withoutEngines(() => expectAudioError(decodeAudio(head, limits), 'audio_corrupt'));
  });

  it.each(['speech.mp3', 'faststart.m4a', 'moov-at-end.m4a', 'browser.webm', 'speech.flac', 'speech.wav'])(
    'rejects %s cut to its first 40 percent as audio_corrupt',
    async (name) => {
      await expectAudioError(decodeAudio(truncate(await fx.read(name), 0.4), limits), 'audio_corrupt');
    },
  );

  it('rejects an OGG whose middle was overwritten as audio_corrupt', async () => {
    const damaged = Buffer.from(await fx.read('voice.ogg'));
    const mid = Math.floor(damaged.length / 2);
    pseudoRandomBytes(2000, 'damage').copy(damaged, mid - 1000);
    await expectAudioError(decodeAudio(damaged, limits), 'audio_corrupt');
  });
});

describe('decodeAudio: length limit', () => {
  it('refuses an hour-long OGG from its headers alone, naming both lengths', async () => {
    const input = await fx.read('hour.ogg');
    const err = await withoutEngines(() => expectAudioError(decodeAudio(input, limits), 'audio_too_long'));
    expect(err.userMessage).toBe('That voice message is too long (1 h); the limit is 10 min.');
  });

  it('refuses an hour-long MP3 (no length in its headers) without decoding it all', async () => {
    const maxSeconds = 30;
    const { result: err, runs } = await withFfmpegSpy(() =>
      expectAudioError(decodeFile('hour.mp3', { maxSeconds }), 'audio_too_long'),
    );
    expect(err.userMessage).toBe('That voice message is too long (1 h); the limit is 30 s.');
    // What ffmpeg was asked to do, not how long it took (which depends on the machine's load): every
    // run either decodes no more than just past the limit, or only copies packets to measure the length.
    expect(runs.length).toBeGreaterThan(0);
    for (const args of runs) expect(secondsDecoded(args), args.join(' ')).toBeLessThanOrEqual(maxSeconds + 1);
  });

  it('reports the real length of a slightly-too-long MP3 measured after the capped decode', async () => {
    const err = await expectAudioError(decodeFile('speech.mp3', { maxSeconds: 5 }), 'audio_too_long');
    expect(err.userMessage).toBe(
      `That voice message is too long (${Math.ceil(referenceSec)} s); the limit is 5 s.`,
    );
  });

  it('accepts audio just under the limit', async () => {
    const decoded = await decodeFile('voice.ogg', { maxSeconds: Math.ceil(referenceSec) });
    expect(decoded.durationSec).toBeLessThanOrEqual(Math.ceil(referenceSec));
  });
});

describe('decodeAudio: cancellation, timeouts, missing engine, logging', () => {
  it('kills ffmpeg and throws CancelledError when aborted mid-decode', async () => {
    const controller = new AbortController();
    const decoding = decodeFile('ten-min.ogg', {
      signal: controller.signal,
      maxSeconds: 700,
      engine: 'ffmpeg',
    });
    setTimeout(() => controller.abort(), 50);
    expect(await rejection(decoding)).toBeInstanceOf(CancelledError);
    // The child is SIGKILLed at once; it is gone as soon as the OS has reaped it.
    await expect.poll(() => childCommands(), { timeout: 20_000, interval: 50 }).not.toContain('ffmpeg');
  });

  it('stops the in-process OGG/Opus decode with CancelledError when aborted mid-decode', async () => {
    const controller = new AbortController();
    const decoding = decodeFile('ten-min.ogg', { signal: controller.signal, maxSeconds: 700 });
    setTimeout(() => controller.abort(), 50);
    expect(await rejection(decoding)).toBeInstanceOf(CancelledError);
    expect(childCommands()).not.toContain('ffmpeg');
  });

  it.each(['auto', 'ffmpeg'] as const)(
    'throws StageTimeoutError("decode") when the time limit passes (engine %s)',
    async (engine) => {
      const err = await rejection(decodeFile('ten-min.ogg', { timeoutMs: 30, maxSeconds: 700, engine }));
      expect(err).toBeInstanceOf(StageTimeoutError);
      expect((err as StageTimeoutError).stage).toBe('decode');
    },
  );

  it('throws CancelledError for an already-aborted signal', async () => {
    const err = await rejection(decodeFile('voice.ogg', { signal: AbortSignal.abort() }));
    expect(err).toBeInstanceOf(CancelledError);
  });

  it('says audio_engine_missing, pointing at the setup script, when ffmpeg is not installed', async () => {
    for (const [name, engine] of [
      ['speech.mp3', 'auto'],
      ['voice.ogg', 'ffmpeg'],
    ] as const) {
      const input = await fx.read(name);
      const err = await withoutEngines(() =>
        expectAudioError(decodeAudio(input, { ...limits, engine }), 'audio_engine_missing'),
      );
      expect(err.userMessage).toMatch(/ffmpeg is not installed.*setup script/);
    }
  });

  it('decodes an OGG/Opus voice note with no ffmpeg installed (in-process path)', async () => {
    const input = await fx.read('voice.ogg');
    const decoded = await withoutEngines(() => decodeAudio(input, limits));
    expect(decoded.format).toBe('ogg/opus');
    expect(Math.abs(decoded.durationSec - referenceSec)).toBeLessThan(0.1);
  });

  it('logs a warning line with the error code when it rejects input', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    await expectAudioError(
      decodeAudio(Buffer.from('not audio at all'), { ...limits, logger }),
      'audio_not_audio',
    );
    const entries = lines.map((l) => JSON.parse(l) as { level: number; code?: string; inputBytes?: number });
    expect(entries).toContainEqual(
      expect.objectContaining({ level: 40, code: 'audio_not_audio', inputBytes: 16 }),
    );
  });
});
