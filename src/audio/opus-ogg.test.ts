import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio } from './decode.js';
import { demuxOggOpus, muxOggOpus, opusPacketSamples } from './opus-ogg.js';
import { FixtureDir, ffprobeFile, run, TEN_SECOND_TEXT } from './test-fixtures.js';

let fx: FixtureDir;

beforeAll(async () => {
  fx = await FixtureDir.create();
  fx.speak('speech.wav', TEN_SECOND_TEXT);
  fx.convert('speech.wav', 'voice.ogg', ['-c:a', 'libopus', '-b:a', '24k', '-application', 'voip']);
});

afterAll(async () => {
  await fx?.remove();
});

describe('opusPacketSamples (RFC 6716 §3.1)', () => {
  it.each([
    ['SILK NB 10 ms, one frame', [0 << 3], 480],
    ['SILK WB 60 ms, one frame', [(11 << 3) | 0], 2880],
    ['hybrid FB 20 ms, two equal frames', [(15 << 3) | 1], 1920],
    ['CELT FB 2.5 ms, two frames of different sizes', [(28 << 3) | 2], 240],
    ['CELT 20 ms, code 3 with 6 frames', [(31 << 3) | 3, 6], 5760],
  ])('%s', (_name, bytes, samples) => {
    expect(opusPacketSamples(new Uint8Array(bytes))).toBe(samples);
  });

  it.each([
    ['empty', []],
    ['code 3 without its count byte', [(31 << 3) | 3]],
    ['code 3 with zero frames', [(31 << 3) | 3, 0]],
    ['more than 120 ms (3 × 60 ms)', [(11 << 3) | 3, 3]],
  ])('rejects a packet that is %s', (_name, bytes) => {
    expect(opusPacketSamples(new Uint8Array(bytes))).toBeUndefined();
  });
});

describe('demuxOggOpus', () => {
  it('reads the header and packets of an ffmpeg voice note, and its exact length', async () => {
    const stream = demuxOggOpus(await fx.read('voice.ogg'));
    expect(stream.head).toMatchObject({
      channels: 1,
      preSkip: 312,
      mappingFamily: 0,
    });
    // ffprobe counts the same packets.
    const count = run('ffprobe', [
      '-v',
      'error',
      '-count_packets',
      '-show_entries',
      'stream=nb_read_packets',
      '-of',
      'csv=p=0',
      fx.path('voice.ogg'),
    ]);
    expect(stream.packets.length).toBe(Number(count.toString('utf8').trim()));
    const coded = stream.packets.reduce((n, p) => n + opusPacketSamples(p)!, 0);
    expect(stream.totalSamples).toBeLessThanOrEqual(coded - stream.head.preSkip);
    expect(
      Math.abs(stream.totalSamples! / 48000 - ffprobeFile(fx.path('voice.ogg')).durationSec),
    ).toBeLessThan(0.01);
  });
});

describe('muxOggOpus and demuxOggOpus together', () => {
  it('an empty packet (not a valid Opus packet): audio_corrupt in-process, as ffmpeg also says', async () => {
    const { packets, head, totalSamples } = demuxOggOpus(await fx.read('voice.ogg'));
    const withGap = [...packets.slice(0, 100), Buffer.alloc(0), ...packets.slice(100)];
    const file = muxOggOpus({
      packets: withGap,
      packetSamples: withGap.map((p) => opusPacketSamples(p) ?? 960),
      preSkip: head.preSkip,
      totalSamples: totalSamples! + 960,
      inputSampleRate: 22050,
      serial: 7,
    });
    // The muxer itself wrote a readable file: same packets back, empty one included.
    expect(demuxOggOpus(file).packets.map((p) => p.length)).toEqual(withGap.map((p) => p.length));
    const logger = pino({ level: 'silent' });
    for (const engine of ['auto', 'ffmpeg'] as const) {
      const err = await decodeAudio(file, { maxBytes: 1e8, maxSeconds: 600, logger, engine }).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'audio_corrupt' });
    }
  });
});
