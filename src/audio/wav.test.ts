import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioError } from '../util/errors.js';
import { isWav, parseWavLayout, pcmToWav, wavToPcm } from './wav.js';
import { FixtureDir, ffprobeFile, resampleWithFfmpeg, run } from './test-fixtures.js';

let fx: FixtureDir;

beforeAll(async () => {
  fx = await FixtureDir.create();
  fx.speak('speech.wav', 'Reading and writing wave files without ffmpeg.');
  // Left and right channels differ, so the mono mix-down is checked, not just one channel.
  fx.lavfi(
    'stereo-float.wav',
    'sine=frequency=300:duration=1:sample_rate=44100,aformat=channel_layouts=stereo',
    ['-af', 'pan=stereo|c0=0.8*c0|c1=0.2*c0', '-c:a', 'pcm_f32le'],
  );
  for (const codec of ['pcm_u8', 'pcm_s24le', 'pcm_s32le', 'pcm_f64le']) {
    fx.convert('speech.wav', `${codec}.wav`, ['-c:a', codec]);
  }
  fx.convert('speech.wav', 'adpcm.wav', ['-c:a', 'adpcm_ms']);
});

afterAll(async () => {
  await fx?.remove();
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('wavToPcm', () => {
  it('reads 16-bit mono exactly as ffmpeg does', async () => {
    const pcm = wavToPcm(await fx.read('speech.wav'));
    const oracle = resampleWithFfmpeg(fx.path('speech.wav'), ffprobeFile(fx.path('speech.wav')).sampleRate);
    expect(pcm.sampleRate).toBe(oracle.sampleRate);
    expect(maxAbsDiff(pcm.samples, oracle.samples)).toBeLessThan(1e-6);
  });

  it('mixes 32-bit float stereo down to the mean of both channels', async () => {
    const pcm = wavToPcm(await fx.read('stereo-float.wav'));
    expect(pcm.sampleRate).toBe(44100);
    const mean = run('ffmpeg', [
      '-v',
      'error',
      '-i',
      fx.path('stereo-float.wav'),
      '-af',
      'pan=mono|c0=0.5*c0+0.5*c1',
      '-f',
      'f32le',
      'pipe:1',
    ]);
    const oracle = new Float32Array(mean.length / 4).map((_, i) => mean.readFloatLE(i * 4));
    expect(maxAbsDiff(pcm.samples, oracle)).toBeLessThan(1e-5);
    // The channels really differ (gains 0.8 and 0.2), so the mix peaks at (0.8 + 0.2) / 2 / 0.8 of the left one.
    const left = run('ffmpeg', [
      '-v',
      'error',
      '-i',
      fx.path('stereo-float.wav'),
      '-af',
      'pan=mono|c0=c0',
      '-f',
      'f32le',
      'pipe:1',
    ]);
    const leftPeak = Math.max(...new Float32Array(left.length / 4).map((_, i) => left.readFloatLE(i * 4)));
    expect(Math.max(...pcm.samples) / leftPeak).toBeCloseTo(0.625, 2);
  });

  it.each(['pcm_u8', 'pcm_s24le', 'pcm_s32le', 'pcm_f64le'])('reads %s', async (codec) => {
    const pcm = wavToPcm(await fx.read(`${codec}.wav`));
    const oracle = resampleWithFfmpeg(fx.path(`${codec}.wav`), pcm.sampleRate);
    expect(maxAbsDiff(pcm.samples, oracle.samples)).toBeLessThan(codec === 'pcm_u8' ? 0.01 : 1e-4);
  });

  it("reads espeak-ng's WAV on stdout, whose size fields are placeholders", async () => {
    const streamed = run('espeak-ng', ['--stdout', 'Reading and writing wave files without ffmpeg.']);
    const layout = parseWavLayout(streamed);
    expect(layout.declaredDataBytes).toBeGreaterThan(streamed.length);
    expect(layout.truncated).toBe(false);
    const fromStdout = wavToPcm(streamed);
    const fromFile = wavToPcm(await fx.read('speech.wav'));
    expect(fromStdout.sampleRate).toBe(fromFile.sampleRate);
    expect(maxAbsDiff(fromStdout.samples, fromFile.samples)).toBe(0);
  });

  it('treats 0 and 0xFFFFFFFF data sizes as "until the end of the buffer"', async () => {
    const wav = await fx.read('speech.wav');
    const expected = wavToPcm(wav).samples;
    for (const placeholder of [0, 0xffffffff]) {
      const patched = Buffer.from(wav);
      patched.writeUInt32LE(placeholder, 4);
      patched.writeUInt32LE(placeholder, 40);
      expect(maxAbsDiff(wavToPcm(patched).samples, expected)).toBe(0);
    }
  });

  it('flags a WAV cut short (declared size larger than the data)', async () => {
    const wav = await fx.read('speech.wav');
    const layout = parseWavLayout(wav.subarray(0, Math.floor(wav.length / 2)));
    expect(layout.truncated).toBe(true);
  });

  it('rejects non-WAV, unsupported and broken files with typed errors', async () => {
    expect(() => wavToPcm(Buffer.from('definitely not a wave file'))).toThrow(
      expect.objectContaining({ code: 'audio_not_audio' }),
    );
    expect(() => wavToPcm(Buffer.alloc(0))).toThrow(AudioError);
    expect(() => wavToPcm(Buffer.from('RIFF\x04\x00\x00\x00WAVE', 'latin1'))).toThrow(
      expect.objectContaining({ code: 'audio_corrupt' }),
    );
    const adpcm = await fx.read('adpcm.wav');
    expect(() => wavToPcm(adpcm)).toThrow(expect.objectContaining({ code: 'audio_unsupported' }));
  });
});

describe('pcmToWav', () => {
  it('writes a 16-bit WAV that ffprobe accepts and that reads back within quantisation error', async () => {
    const original = wavToPcm(await fx.read('pcm_f64le.wav'));
    const wav = pcmToWav(original);
    expect(isWav(wav)).toBe(true);
    const back = wavToPcm(wav);
    expect(back.sampleRate).toBe(original.sampleRate);
    expect(maxAbsDiff(back.samples, original.samples)).toBeLessThanOrEqual(1 / 32767);
    const out = fx.path('written.wav');
    await writeFile(out, wav);
    expect(ffprobeFile(out)).toMatchObject({
      codec: 'pcm_s16le',
      channels: 1,
      sampleRate: original.sampleRate,
    });
  });

  it('clips out-of-range samples and writes NaN as silence', () => {
    const back = wavToPcm(
      pcmToWav({ sampleRate: 8000, samples: Float32Array.from([2, -3, Number.NaN, 0.5]) }),
    );
    expect(Array.from(back.samples.subarray(0, 3))).toEqual([32767 / 32768, -1, 0]);
    expect(back.samples[3]).toBeCloseTo(0.5, 4);
  });
});
