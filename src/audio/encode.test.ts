import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PcmAudio } from './pcm-audio.js';
import { AudioError, CancelledError } from '../util/errors.js';
import { encodeAudio, mimeTypeFor, type EncodeFormat, type EncodeOptions } from './encode.js';
import { wavToPcm } from './wav.js';
import {
  correlation,
  envelopeDb,
  FixtureDir,
  ffprobeFile,
  referenceSamples,
  resampleWithFfmpeg,
  TEN_SECOND_TEXT,
} from './test-fixtures.js';

let fx: FixtureDir;
/** espeak-ng's own output: 22050 Hz, the rate June's default TTS produces. */
let speech: PcmAudio;

beforeAll(async () => {
  fx = await FixtureDir.create();
  fx.speak('speech.wav', TEN_SECOND_TEXT);
  speech = wavToPcm(await fx.read('speech.wav'));
});

afterAll(async () => {
  await fx?.remove();
});

const durationOf = (pcm: PcmAudio) => pcm.samples.length / pcm.sampleRate;

async function encodeToFile(pcm: PcmAudio, format: EncodeFormat, name: string, opts: EncodeOptions = {}) {
  const bytes = await encodeAudio(pcm, format, opts);
  await writeFile(fx.path(name), bytes);
  return { bytes, file: fx.path(name) };
}

describe('encodeAudio', () => {
  it.each(['auto', 'ffmpeg'] as const)(
    'writes OGG/Opus 48 kHz mono that is a valid Telegram/Discord voice note (engine %s)',
    async (engine) => {
      const { bytes, file } = await encodeToFile(speech, 'ogg', `reply-${engine}.ogg`, { engine });
      expect(bytes.subarray(0, 4).toString('latin1')).toBe('OggS');
      const info = ffprobeFile(file);
      expect(info).toMatchObject({ formatName: 'ogg', codec: 'opus', sampleRate: 48000, channels: 1 });
      expect(Math.abs(info.durationSec - durationOf(speech))).toBeLessThan(0.05);
      // Round trip: decoding the note again gives the same speech, same length.
      const back = referenceSamples(file);
      expect(Math.abs(back.length / 16000 - durationOf(speech))).toBeLessThan(0.05);
      const original = referenceSamples(fx.path('speech.wav'));
      expect(correlation(envelopeDb(back), envelopeDb(original))).toBeGreaterThan(0.9);
    },
  );

  it.each(['auto', 'ffmpeg'] as const)(
    'honours bitrateKbps for OGG: a higher bitrate gives a bigger file (engine %s)',
    async (engine) => {
      const low = await encodeAudio(speech, 'ogg', { bitrateKbps: 12, engine });
      const high = await encodeAudio(speech, 'ogg', { bitrateKbps: 64, engine });
      expect(high.length).toBeGreaterThan(low.length * 2);
    },
  );

  it('writes 16-bit WAV at the input rate that ffprobe reads with the right length', async () => {
    const { file } = await encodeToFile(speech, 'wav', 'reply.wav');
    const info = ffprobeFile(file);
    expect(info).toMatchObject({
      formatName: 'wav',
      codec: 'pcm_s16le',
      sampleRate: speech.sampleRate,
      channels: 1,
    });
    expect(info.durationSec).toBeCloseTo(durationOf(speech), 3);
  });

  it('writes MP3 (libmp3lame) whose decoded length matches the input', async () => {
    const { bytes, file } = await encodeToFile(speech, 'mp3', 'reply.mp3');
    const info = ffprobeFile(file);
    expect(info).toMatchObject({
      formatName: 'mp3',
      codec: 'mp3',
      sampleRate: speech.sampleRate,
      channels: 1,
    });
    // Written via a seekable file, so the LAME header lets decoders trim encoder delay and padding.
    expect(Math.abs(referenceSamples(file).length / 16000 - durationOf(speech))).toBeLessThan(0.01);
    // 64 kbit/s by default: the size says the bitrate option reached the encoder.
    const kbps = (bytes.length * 8) / durationOf(speech) / 1000;
    expect(kbps).toBeGreaterThan(50);
    expect(kbps).toBeLessThan(80);
  });

  it.each([8000, 16000, 24000, 44100, 96000])('accepts %i Hz input for every format', async (rate) => {
    const pcm = resampleWithFfmpeg(fx.path('speech.wav'), rate);
    for (const format of ['ogg', 'mp3', 'wav'] as const) {
      const { file } = await encodeToFile(pcm, format, `rate-${rate}.${format}`);
      const info = ffprobeFile(file);
      if (format === 'ogg') expect(info.sampleRate).toBe(48000);
      if (format === 'wav') expect(info.sampleRate).toBe(rate);
      if (format === 'mp3') expect(info.sampleRate).toBe(Math.min(rate, 48000));
      expect(Math.abs(referenceSamples(file).length / 16000 - durationOf(pcm))).toBeLessThan(0.03);
    }
  });

  it('rejects empty PCM and an impossible sample rate with typed errors', async () => {
    await expect(
      encodeAudio({ sampleRate: 16000, samples: new Float32Array(0) }, 'ogg'),
    ).rejects.toMatchObject({
      code: 'audio_empty',
    });
    const badRate = encodeAudio({ sampleRate: 0, samples: new Float32Array(10) }, 'wav');
    await expect(badRate).rejects.toBeInstanceOf(AudioError);
    await expect(badRate).rejects.toMatchObject({ code: 'audio_unsupported' });
  });

  it.each(['auto', 'ffmpeg'] as const)('throws CancelledError when aborted (engine %s)', async (engine) => {
    const controller = new AbortController();
    const long: PcmAudio = { sampleRate: 16000, samples: new Float32Array(16000 * 180).fill(0.1) };
    const encoding = encodeAudio(long, 'ogg', { signal: controller.signal, engine });
    setTimeout(() => controller.abort(), 30);
    await expect(encoding).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('mimeTypeFor', () => {
  it('gives the types chat APIs expect', () => {
    expect(['ogg', 'mp3', 'wav'].map((f) => mimeTypeFor(f as EncodeFormat))).toEqual([
      'audio/ogg',
      'audio/mpeg',
      'audio/wav',
    ]);
  });
});
