import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyWhisperModel } from './tiny-whisper-model.js';
import { defaultWhisperVocabPath } from './tiny-whisper-model.js';
import { existsSync } from 'node:fs';

/** The tiny model uses Whisper's real vocabulary from ../shared; without it these tests cannot run. */
const hasVocab = existsSync(defaultWhisperVocabPath);
if (!hasVocab) console.warn(`skipped: ${defaultWhisperVocabPath} not found (../shared/data is not present)`);

/** Walks a ggml whisper file the way whisper.cpp's loader does and returns what it found. */
function parseGgmlWhisper(buf: Buffer) {
  let off = 0;
  const i32 = () => {
    const v = buf.readInt32LE(off);
    off += 4;
    return v;
  };
  const magic = buf.readUInt32LE(0);
  off = 4;
  const hparams = Array.from({ length: 11 }, i32);
  const nMel = i32();
  const nFft = i32();
  const filters = new Float32Array(
    buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + nMel * nFft * 4),
  );
  off += nMel * nFft * 4;
  const nTokens = i32();
  const tokens: Buffer[] = [];
  for (let i = 0; i < nTokens; i++) {
    const len = i32();
    tokens.push(buf.subarray(off, off + len));
    off += len;
  }
  const tensors = new Map<string, { ne: number[]; type: number }>();
  while (off < buf.length) {
    const nDims = i32();
    const nameLen = i32();
    const type = i32();
    const ne = Array.from({ length: nDims }, i32);
    const name = buf.subarray(off, off + nameLen).toString('utf8');
    off += nameLen;
    off += ne.reduce((a, b) => a * b, 1) * (type === 1 ? 2 : 4);
    tensors.set(name, { ne, type });
  }
  return { magic, hparams, nMel, nFft, filters, tokens, tensors, end: off };
}

describe.skipIf(!hasVocab)('writeTinyWhisperModel', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'june-tiny-whisper-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the ggml layout whisper.cpp reads: header, mel filters, GPT-2 byte vocabulary, all 50 tensors', async () => {
    const file = path.join(dir, 'en.bin');
    await writeTinyWhisperModel(file);
    const buf = await readFile(file);
    const m = parseGgmlWhisper(buf);

    expect(m.magic).toBe(0x67676d6c);
    // n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype
    expect(m.hparams).toEqual([51864, 1500, 64, 2, 1, 448, 64, 2, 1, 80, 1]);
    expect([m.nMel, m.nFft]).toEqual([80, 201]);
    expect(m.end).toBe(buf.length);

    // A real filterbank: non-negative triangles, every mel band covers some FFT bins.
    expect(Math.min(...m.filters)).toBeGreaterThanOrEqual(0);
    for (let band = 0; band < 80; band++) {
      const row = m.filters.subarray(band * 201, (band + 1) * 201);
      expect(row.some((v) => v > 0)).toBe(true);
    }

    // The byte-level vocabulary is decoded back to raw bytes: "Ġ" is a space, "Ġt" is " t".
    expect(m.tokens).toHaveLength(50257);
    expect(m.tokens[220]!.toString('latin1')).toBe(' ');
    expect(m.tokens[256]!.toString('latin1')).toBe(' t');
    expect(m.tokens[50256]!.toString('latin1')).toBe('<|endoftext|>');

    expect(m.tensors.size).toBe(50); // 11 outside the blocks + 15 per encoder block + 24 per decoder block
    expect(m.tensors.get('decoder.token_embedding.weight')).toEqual({ ne: [64, 51864], type: 1 });
    expect(m.tensors.get('encoder.conv1.weight')).toEqual({ ne: [3, 80, 64], type: 1 });
    expect(m.tensors.get('encoder.conv1.bias')).toEqual({ ne: [1, 64], type: 0 });
    expect(m.tensors.get('encoder.positional_embedding')).toEqual({ ne: [64, 1500], type: 0 });
    expect(m.tensors.get('decoder.blocks.0.cross_attn.key.weight')).toEqual({ ne: [64, 64], type: 1 });
    expect(m.tensors.has('decoder.blocks.0.cross_attn.key.bias')).toBe(false);
    expect(m.tensors.get('encoder.blocks.0.mlp.0.weight')).toEqual({ ne: [64, 256], type: 1 });
  });

  it('is deterministic for a seed and differs between seeds', async () => {
    const [a, b, c] = ['a.bin', 'b.bin', 'c.bin'].map((f) => path.join(dir, f)) as [string, string, string];
    await writeTinyWhisperModel(a, { seed: 7, nState: 32 });
    await writeTinyWhisperModel(b, { seed: 7, nState: 32 });
    await writeTinyWhisperModel(c, { seed: 8, nState: 32 });
    const [ba, bb, bc] = await Promise.all([readFile(a), readFile(b), readFile(c)]);
    expect(ba.equals(bb)).toBe(true);
    expect(ba.equals(bc)).toBe(false);
    expect(ba.length).toBe(bc.length);
  });

  it('writes multilingual models with n_vocab 51865, f32 weights on request, and an empty token 50256', async () => {
    const file = path.join(dir, 'ml.bin');
    await writeTinyWhisperModel(file, { multilingual: true, ftype: 0, nLayer: 2 });
    const m = parseGgmlWhisper(await readFile(file));
    expect(m.hparams[0]).toBe(51865);
    expect(m.hparams[10]).toBe(0);
    expect(m.tokens[50256]!.length).toBe(0);
    expect(m.tensors.size).toBe(11 + 2 * 15 + 2 * 24);
    expect(m.tensors.get('decoder.token_embedding.weight')).toEqual({ ne: [64, 51865], type: 0 });
  });
});
