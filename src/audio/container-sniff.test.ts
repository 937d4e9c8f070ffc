import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectContainer, sniffContainer } from './container-sniff.js';
import {
  FixtureDir,
  ffprobeFile,
  pseudoRandomBytes,
  referenceSamples,
  TEN_SECOND_TEXT,
} from './test-fixtures.js';

let fx: FixtureDir;
let speechSec: number;

beforeAll(async () => {
  fx = await FixtureDir.create();
  fx.speak('speech.wav', TEN_SECOND_TEXT);
  fx.convert('speech.wav', 'voice.ogg', ['-c:a', 'libopus', '-b:a', '24k']);
  fx.convert('speech.wav', 'speech.oga', ['-c:a', 'libvorbis', '-f', 'ogg']);
  fx.convert('speech.wav', 'speech.mp3', ['-c:a', 'libmp3lame']);
  fx.convert('speech.wav', 'faststart.m4a', ['-c:a', 'aac', '-movflags', '+faststart']);
  fx.convert('speech.wav', 'moov-at-end.m4a', ['-c:a', 'aac']);
  fx.convert('speech.wav', 'speech.webm', ['-c:a', 'libopus']);
  fx.convert('speech.wav', 'speech.mka', ['-c:a', 'libopus', '-f', 'matroska']);
  fx.convert('speech.wav', 'speech.flac', []);
  fx.convert('speech.wav', 'speech.aac', ['-c:a', 'aac', '-f', 'adts']);
  speechSec = referenceSamples(fx.path('speech.wav')).length / 16000;
});

afterAll(async () => {
  await fx?.remove();
});

describe('sniffContainer', () => {
  it.each([
    ['voice.ogg', 'ogg'],
    ['speech.oga', 'ogg'],
    ['speech.mp3', 'mp3'],
    ['faststart.m4a', 'mp4'],
    ['speech.webm', 'webm'],
    ['speech.mka', 'matroska'],
    ['speech.flac', 'flac'],
    ['speech.wav', 'wav'],
    ['speech.aac', 'aac'],
  ])('names %s as %s', async (name, container) => {
    expect(sniffContainer(await fx.read(name))).toBe(container);
  });

  it('names nothing for text, noise or tiny inputs', () => {
    expect(sniffContainer(Buffer.from('just some text'))).toBeUndefined();
    expect(sniffContainer(pseudoRandomBytes(4096, 'sniff'))).toBeUndefined();
    expect(sniffContainer(Buffer.from([0xff]))).toBeUndefined();
  });
});

describe('inspectContainer', () => {
  it.each(['voice.ogg', 'speech.oga', 'faststart.m4a', 'moov-at-end.m4a', 'speech.flac', 'speech.wav'])(
    'reads the exact length of %s from its headers',
    async (name) => {
      const facts = inspectContainer(await fx.read(name));
      expect(facts.durationSec).toBeDefined();
      // Compared with ffprobe reading the same file from disk (seekable, so it sees every header).
      expect(Math.abs(facts.durationSec! - ffprobeFile(fx.path(name)).durationSec)).toBeLessThan(0.03);
      expect(Math.abs(facts.durationSec! - speechSec)).toBeLessThan(0.06);
      expect(facts.truncated ?? false).toBe(false);
    },
  );

  it('names the OGG codec from its first page', async () => {
    expect(inspectContainer(await fx.read('voice.ogg')).codec).toBe('opus');
    expect(inspectContainer(await fx.read('speech.oga')).codec).toBe('vorbis');
  });

  it('says an MP4 needs seekable input only when its moov atom follows the media', async () => {
    expect(inspectContainer(await fx.read('faststart.m4a')).needsSeekableInput).toBe(false);
    expect(inspectContainer(await fx.read('moov-at-end.m4a')).needsSeekableInput).toBe(true);
  });

  it('flags an OGG cut anywhere before its end-of-stream page as truncated', async () => {
    const ogg = await fx.read('voice.ogg');
    for (const fraction of [0.1, 0.4, 0.9, 0.999]) {
      expect(inspectContainer(ogg.subarray(0, Math.floor(ogg.length * fraction))).truncated).toBe(true);
    }
  });

  it('leaves formats without length headers to ffmpeg', async () => {
    expect(inspectContainer(await fx.read('speech.mp3')).durationSec).toBeUndefined();
    expect(inspectContainer(await fx.read('speech.webm')).durationSec).toBeUndefined();
  });
});
