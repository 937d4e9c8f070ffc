/**
 * The in-process OGG/Opus encoder and muxer, checked from outside: ffprobe and ffmpeg read what it
 * writes, the page structure is parsed back field by field, and decoded audio lines up with the input.
 */
import { writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PcmAudio } from './pcm-audio.js';
import { CancelledError } from '../util/errors.js';
import { decodeAudio } from './decode.js';
import { encodeAudio } from './encode.js';
import { OGG_BOS, OGG_EOS, oggPackets, readOggPages } from './ogg.js';
import { encodeOggOpusInProcess, InProcessEncodeDeclined } from './opus-encode.js';
import { muxOggOpus, opusPacketSamples, parseOpusHead } from './opus-ogg.js';
import {
  FixtureDir,
  ffprobeFile,
  referenceSamples,
  TEN_SECOND_TEXT,
  waveformCorrelation,
} from './test-fixtures.js';
import { wavToPcm } from './wav.js';

let fx: FixtureDir;
/** espeak-ng's own output: 22050 Hz, the rate June's default TTS produces. */
let speech: PcmAudio;
let note: Buffer;

const limits = { maxBytes: 20 * 1024 * 1024, maxSeconds: 600, logger: pino({ level: 'silent' }) };
const durationOf = (pcm: PcmAudio) => pcm.samples.length / pcm.sampleRate;

beforeAll(async () => {
  fx = await FixtureDir.create();
  fx.speak('speech.wav', TEN_SECOND_TEXT);
  speech = wavToPcm(await fx.read('speech.wav'));
  note = await encodeOggOpusInProcess(speech, { bitrateKbps: 32, serial: 0x4a554e45 });
  await writeFile(fx.path('note.ogg'), note);
});

afterAll(async () => {
  await fx?.remove();
});

describe('in-process OGG/Opus encode: what other software makes of it', () => {
  it('is a mono 48 kHz Opus voice note to ffprobe, as long as the input', () => {
    const info = ffprobeFile(fx.path('note.ogg'));
    expect(info).toMatchObject({ formatName: 'ogg', codec: 'opus', sampleRate: 48000, channels: 1 });
    expect(Math.abs(info.durationSec - durationOf(speech))).toBeLessThan(0.02);
  });

  it('decodes with ffmpeg to the same speech, the same length and no delay', () => {
    const back = referenceSamples(fx.path('note.ogg'));
    const original = referenceSamples(fx.path('speech.wav'));
    expect(Math.abs(back.length - original.length)).toBeLessThanOrEqual(320); // ±20 ms at 16 kHz
    // Pre-skip matches the encoder's look-ahead: the best alignment is no shift at all.
    const match = waveformCorrelation(back, original, 3);
    expect(match.lag).toBe(0);
    expect(match.r).toBeGreaterThan(0.9);
  });

  it('decodes with June’s in-process decoder to what ffmpeg decodes', async () => {
    const fast = await decodeAudio(note, limits);
    const ffmpeg = await decodeAudio(note, { ...limits, engine: 'ffmpeg' });
    expect(Math.abs(fast.durationSec - durationOf(speech))).toBeLessThanOrEqual(0.02);
    expect(fast.pcm.samples.length).toBe(ffmpeg.pcm.samples.length);
    expect(waveformCorrelation(fast.pcm.samples, ffmpeg.pcm.samples, 0).r).toBeGreaterThan(0.99);
  });

  it('is about the bitrate asked for', () => {
    const kbps = (note.length * 8) / durationOf(speech) / 1000;
    expect(kbps).toBeGreaterThan(24);
    expect(kbps).toBeLessThan(40);
  });
});

describe('in-process OGG/Opus encode: page structure', () => {
  it('has valid checksums, one serial, consecutive sequence numbers, BOS first and EOS last', () => {
    const pages = readOggPages(note);
    expect(pages.every((p) => p.crcOk)).toBe(true);
    expect(new Set(pages.map((p) => p.serial))).toEqual(new Set([0x4a554e45]));
    expect(pages.map((p) => p.sequence)).toEqual(pages.map((_, i) => i));
    expect(pages.map((p) => p.flags)).toEqual(
      pages.map((_, i) => (i === 0 ? OGG_BOS : i === pages.length - 1 ? OGG_EOS : 0)),
    );
  });

  it('starts with OpusHead and OpusTags on pages of their own, at granule 0', () => {
    const pages = readOggPages(note);
    const [headPage, tagsPage] = pages;
    expect(oggPackets([headPage!]).length).toBe(1);
    expect(oggPackets([tagsPage!]).length).toBe(1);
    expect([headPage!.granule, tagsPage!.granule]).toEqual([0n, 0n]);
    const head = parseOpusHead(headPage!.body);
    // libopus's look-ahead is 6.5 ms: 312 samples at 48 kHz.
    expect(head).toEqual({
      channels: 1,
      preSkip: 312,
      inputSampleRate: 22050,
      outputGainQ8: 0,
      mappingFamily: 0,
    });
    expect(headPage!.body[8]).toBe(1); // version
    expect(tagsPage!.body.toString('latin1', 0, 8)).toBe('OpusTags');
  });

  it('counts granules in 48 kHz samples and trims the last packet to the input length', () => {
    const pages = readOggPages(note);
    const audio = oggPackets(pages).slice(2);
    const samples = audio.map((p) => opusPacketSamples(p.data));
    expect(new Set(samples)).toEqual(new Set([960])); // 20 ms frames
    // Each page's granule is the running total of its packets' samples, pre-skip included.
    let total = 0;
    for (const packet of audio) {
      total += 960;
      const isLastOnPage = packet.pageGranule >= 0n;
      const onFinalPage = packet.pageIndex === pages.length - 1;
      if (isLastOnPage && !onFinalPage) expect(packet.pageGranule).toBe(BigInt(total));
    }
    const expectedEnd = 312 + Math.round((speech.samples.length * 48000) / 22050);
    expect(pages.at(-1)!.granule).toBe(BigInt(expectedEnd));
    expect(total).toBeGreaterThanOrEqual(expectedEnd);
    expect(total - expectedEnd).toBeLessThan(960);
    // About a second of packets per page.
    expect(pages.length).toBe(2 + Math.ceil(audio.length / 50));
  });

  it('muxOggOpus refuses a length that the packets cannot hold', () => {
    const packets = [new Uint8Array([0x08, 0]), new Uint8Array([0x08, 0])];
    const base = { packets, packetSamples: [960, 960], preSkip: 312, inputSampleRate: 48000, serial: 1 };
    expect(() => muxOggOpus({ ...base, totalSamples: 2000 })).toThrow(RangeError); // 2312 > 1920
    expect(() => muxOggOpus({ ...base, totalSamples: 500 })).toThrow(RangeError); // would trim a whole packet
    expect(readOggPages(muxOggOpus({ ...base, totalSamples: 1500 })).at(-1)!.granule).toBe(1812n);
  });
});

describe('in-process OGG/Opus encode: edge cases', () => {
  it('encodes 10 ms of silence as a valid, 10 ms long note', async () => {
    const pcm: PcmAudio = { sampleRate: 16000, samples: new Float32Array(160) };
    const bytes = await encodeOggOpusInProcess(pcm, { bitrateKbps: 32 });
    await writeFile(fx.path('short.ogg'), bytes);
    expect(ffprobeFile(fx.path('short.ogg'))).toMatchObject({ codec: 'opus', channels: 1 });
    expect(referenceSamples(fx.path('short.ogg')).length).toBe(160);
    expect(parseOpusHead(readOggPages(bytes)[0]!.body)?.inputSampleRate).toBe(16000);
  });

  it('clips samples beyond full scale instead of wrapping them around', async () => {
    const samples = new Float32Array(16000);
    for (let i = 0; i < samples.length; i++) samples[i] = 3 * Math.sin((2 * Math.PI * 440 * i) / 16000);
    await writeFile(
      fx.path('loud.ogg'),
      await encodeOggOpusInProcess({ sampleRate: 16000, samples }, { bitrateKbps: 32 }),
    );
    const back = referenceSamples(fx.path('loud.ogg'));
    // A clipped sine keeps its pitch and polarity; wrapped-around int16 would be noise.
    const clipped = samples.map((v) => Math.max(-1, Math.min(1, v)));
    expect(waveformCorrelation(back, clipped, 3).r).toBeGreaterThan(0.9);
  });

  it('hands an odd sample rate (44101 Hz) to ffmpeg, which still writes a voice note', async () => {
    const pcm: PcmAudio = { sampleRate: 44101, samples: new Float32Array(44101).fill(0.01) };
    await expect(encodeOggOpusInProcess(pcm, { bitrateKbps: 32 })).rejects.toBeInstanceOf(
      InProcessEncodeDeclined,
    );
    await writeFile(fx.path('odd.ogg'), await encodeAudio(pcm, 'ogg'));
    const info = ffprobeFile(fx.path('odd.ogg'));
    expect(info).toMatchObject({ codec: 'opus', sampleRate: 48000, channels: 1 });
    expect(Math.abs(info.durationSec - 1)).toBeLessThan(0.03);
  });

  it('throws CancelledError for an already-aborted signal', async () => {
    await expect(
      encodeOggOpusInProcess(speech, { bitrateKbps: 32, signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(CancelledError);
  });
});
