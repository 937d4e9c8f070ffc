/**
 * Tiny sherpa-onnx speech-recognition models for tests, built with random weights but the exact input,
 * output and metadata signature sherpa-onnx checks, so the real load → transcribe path runs here where
 * no model hub can be reached.
 *
 * SenseVoice (as exported by sherpa-onnx's scripts/sense-voice/export-onnx.py):
 *   inputs  x float[N,T,560] (80-bin fbank stacked by LFR 7/6), x_length int32[N], language int32[N],
 *           text_norm int32[N];
 *   output  logits float[N,4+T,V]: four query frames (language, emotion, event, text norm) then CTC frames;
 *   metadata vocab_size, lfr_window_size, lfr_window_shift, normalize_samples, neg_mean, inv_stddev,
 *           lang_* and with_itn/without_itn token ids.
 * The CTC frames come from a few tanh layers (so a long clip takes measurable time) and a bias that
 * favours blank, so a clip gives a short, arbitrary token string.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DataType,
  encodeOnnxModel,
  floatTensor,
  int64Tensor,
  type Node,
  type Tensor,
} from './onnx-writer.js';

export interface TinySenseVoice {
  model: string;
  tokens: string;
}

const TOKENS = [
  '<blank>',
  '<s>',
  '</s>',
  '<|en|>',
  '<|zh|>',
  '<|ja|>',
  '<|ko|>',
  '<|yue|>',
  '<|nospeech|>',
  '<|NEUTRAL|>',
  '<|Speech|>',
  '<|withitn|>',
  '<|woitn|>',
  '▁the',
  '▁what',
  '▁is',
  '▁weather',
  '▁like',
  '▁to',
  'day',
  '▁hello',
  '▁june',
  's',
  'ing',
];

/** A deterministic pseudo-random stream in [-1, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x80000000 - 1;
  };
}

/** Writes model.onnx and tokens.txt of a tiny SenseVoice-shaped model into `dir`. */
export async function writeTinySenseVoice(
  dir: string,
  options: { layers?: number; seed?: number } = {},
): Promise<TinySenseVoice> {
  const { layers = 8, seed = 7 } = options;
  const D = 560;
  const V = TOKENS.length;
  const rnd = random(seed);
  const id = (t: string) => TOKENS.indexOf(t);

  const hidden = floatTensor(
    'w_hidden',
    [D, D],
    Array.from({ length: D * D }, () => rnd() * (1.5 / Math.sqrt(D))),
  );
  const out = floatTensor(
    'w_out',
    [D, V],
    Array.from({ length: D * V }, () => rnd() * 0.5),
  );
  const bias = floatTensor(
    'b_out',
    [V],
    Array.from({ length: V }, (_, i) => (i === 0 ? 2 : 0)),
  );
  // The four query frames: one-hot on <|en|>, <|NEUTRAL|>, <|Speech|>, <|withitn|>.
  const prefixValues = new Float32Array(4 * V).fill(-10);
  ['<|en|>', '<|NEUTRAL|>', '<|Speech|>', '<|withitn|>'].forEach(
    (t, frame) => (prefixValues[frame * V + id(t)] = 10),
  );
  const prefix = floatTensor('prefix', [1, 4, V], prefixValues);

  const nodes: Node[] = [];
  let h = 'x';
  for (let i = 0; i < layers; i++) {
    nodes.push({ op: 'MatMul', inputs: [h, 'w_hidden'], outputs: [`m${i}`] });
    nodes.push({ op: 'Tanh', inputs: [`m${i}`], outputs: [`h${i}`] });
    h = `h${i}`;
  }
  nodes.push({ op: 'MatMul', inputs: [h, 'w_out'], outputs: ['proj'] });
  nodes.push({ op: 'Add', inputs: ['proj', 'b_out'], outputs: ['ctc'] });
  nodes.push({
    op: 'Concat',
    inputs: ['prefix', 'ctc'],
    outputs: ['logits'],
    attributes: { axis: { kind: 'int', value: 1 } },
  });

  const initializers: Tensor[] = [hidden, out, bias, prefix, int64Tensor('unused_marker', [1], [0])];
  const onnx = encodeOnnxModel({
    inputs: [
      { name: 'x', type: DataType.FLOAT, shape: ['N', 'T', D] },
      { name: 'x_length', type: DataType.INT32, shape: ['N'] },
      { name: 'language', type: DataType.INT32, shape: ['N'] },
      { name: 'text_norm', type: DataType.INT32, shape: ['N'] },
    ],
    outputs: [{ name: 'logits', type: DataType.FLOAT, shape: ['N', 'T2', V] }],
    nodes,
    initializers,
    metadata: {
      model_type: 'sense_voice_ctc',
      version: '1',
      model_author: 'june-tests',
      vocab_size: V,
      lfr_window_size: 7,
      lfr_window_shift: 6,
      normalize_samples: 0,
      neg_mean: Array.from({ length: D }, () => '-10.0').join(','),
      inv_stddev: Array.from({ length: D }, () => '0.25').join(','),
      lang_auto: 0,
      lang_zh: 3,
      lang_en: 4,
      lang_yue: 7,
      lang_ja: 11,
      lang_ko: 12,
      lang_nospeech: 13,
      with_itn: 14,
      without_itn: 15,
    },
  });

  await mkdir(dir, { recursive: true });
  const model = path.join(dir, 'model.onnx');
  const tokens = path.join(dir, 'tokens.txt');
  await writeFile(model, onnx);
  await writeFile(tokens, TOKENS.map((t, i) => `${t} ${i}`).join('\n') + '\n');
  return { model, tokens };
}
