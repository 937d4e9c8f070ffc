import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeAudio } from './probe.js';
import { FixtureDir, ffprobeFile } from './test-fixtures.js';

let fx: FixtureDir;

beforeAll(async () => {
  fx = await FixtureDir.create();
  fx.speak('speech.wav', 'Probing a short clip.');
  fx.convert('speech.wav', 'voice.ogg', ['-c:a', 'libopus', '-ar', '48000']);
  fx.convert('speech.wav', 'stereo.mp3', ['-c:a', 'libmp3lame', '-ac', '2', '-ar', '44100']);
});

afterAll(async () => {
  await fx?.remove();
});

describe('probeAudio', () => {
  it.each([
    ['voice.ogg', 'ogg'],
    ['stereo.mp3', 'mp3'],
    ['speech.wav', 'wav'],
  ])('describes %s as ffprobe does on the file', async (name, container) => {
    const probe = await probeAudio(await fx.read(name));
    const onDisk = ffprobeFile(fx.path(name));
    expect(probe.container).toBe(container);
    expect(probe).toMatchObject({
      codec: onDisk.codec,
      sampleRate: onDisk.sampleRate,
      channels: onDisk.channels,
    });
    if (probe.durationSec !== undefined)
      expect(Math.abs(probe.durationSec - onDisk.durationSec)).toBeLessThan(0.1);
  });

  it('rejects empty input and non-audio with typed errors', async () => {
    await expect(probeAudio(Buffer.alloc(0))).rejects.toMatchObject({ code: 'audio_empty' });
    await expect(probeAudio(Buffer.from('plain text, not a sound'))).rejects.toMatchObject({
      code: 'audio_not_audio',
    });
  });
});
