import { describe, expect, it } from 'vitest';
import { CancelledError } from '../util/errors.js';
import { decodeOggOpusInProcess } from './opus-decode.js';
import { encodeOggOpusInProcess } from './opus-encode.js';
import { encodeOggOpusOffThread } from './opus-encode-pool.js';

function tone(sampleRate: number, seconds: number): Float32Array {
  return Float32Array.from(
    { length: Math.round(sampleRate * seconds) },
    (_, i) => Math.sin((2 * Math.PI * 440 * i) / sampleRate) * 0.5,
  );
}

describe('OGG/Opus encoding on worker threads', () => {
  it('encodes on a thread (no fallback) to a file that decodes to the same length', async () => {
    const pcm = { sampleRate: 22_050, samples: tone(22_050, 2) };
    const ogg = await encodeOggOpusOffThread(pcm, { bitrateKbps: 32 });
    expect(ogg.subarray(0, 4).toString('latin1')).toBe('OggS');
    const decoded = await decodeOggOpusInProcess(ogg, 60, new AbortController().signal);
    expect(decoded.length / 16_000).toBeCloseTo(2, 1); // decoded at 16 kHz
  });

  it('answers many replies at once, each the same as the in-process encoder gives', async () => {
    const pcms = [1, 2, 3, 4, 5, 6].map((s) => ({ sampleRate: 24_000, samples: tone(24_000, s / 4) }));
    const threaded = await Promise.all(pcms.map((p) => encodeOggOpusOffThread(p, { bitrateKbps: 32 })));
    for (const [i, p] of pcms.entries()) {
      const local = await encodeOggOpusInProcess(p, { bitrateKbps: 32, serial: 1 });
      // Same packets; only the random OGG serial (and so the page checksums) differ.
      expect(threaded[i]!.length).toBe(local.length);
    }
  });

  it('rejects a cancelled call with CancelledError and keeps working', async () => {
    const ac = new AbortController();
    ac.abort();
    const pcm = { sampleRate: 16_000, samples: tone(16_000, 1) };
    await expect(encodeOggOpusOffThread(pcm, { bitrateKbps: 32, signal: ac.signal })).rejects.toBeInstanceOf(
      CancelledError,
    );
    expect((await encodeOggOpusOffThread(pcm, { bitrateKbps: 32 })).length).toBeGreaterThan(100);
  });
});
