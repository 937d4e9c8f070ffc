/**
 * Tiny text-to-speech models for tests: the real sherpa-onnx load → phonemize → ONNX run path, with
 * models the tests write themselves (no model hub is reachable where the tests run).
 *
 * Each model has the input/output signature and the metadata sherpa-onnx reads for its family, and a
 * made-up body: a few dense layers over the token ids (so longer text costs more time, as with a real
 * voice) and a tone whose length follows the number of tokens and the length scale (so longer text
 * gives longer audio). It does not speak words; tests that need intelligible speech use espeak-ng.
 *
 * Phonemes come from espeak-ng's data, as for the real Piper/Kokoro voices: the system's
 * espeak-ng-data is used (Debian: /usr/lib/x86_64-linux-gnu/espeak-ng-data).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  DataType,
  encodeOnnxModel,
  floatTensor,
  int64Tensor,
  type Node,
  type OnnxModel,
  type Tensor,
} from './onnx-writer.js';

/** Where Debian's espeak-ng keeps its data; sherpa-onnx's built-in espeak-ng reads the same format. */
export function systemEspeakDataDir(): string | undefined {
  const candidates = [
    process.env.JUNE_TEST_ESPEAK_DATA,
    '/usr/lib/x86_64-linux-gnu/espeak-ng-data',
    '/usr/lib/aarch64-linux-gnu/espeak-ng-data',
    '/usr/share/espeak-ng-data',
  ];
  return candidates.find((d): d is string => !!d && fs.existsSync(path.join(d, 'phontab')));
}

/**
 * Phoneme symbols, one per token id: Piper's pad/bos/eos ("_", "^", "$"), space, punctuation, ASCII
 * letters and the IPA letters, stress and length marks, combining diacritics and tone arrows that
 * espeak-ng writes. A phoneme missing from the list is skipped by sherpa-onnx, as with a real voice.
 */
export function phonemeSymbols(): string[] {
  const symbols = ['_', '^', '$', ' ', ...'!\'(),-.:;?"'];
  const add = (from: number, to: number) => {
    for (let c = from; c <= to; c++) symbols.push(String.fromCodePoint(c));
  };
  add(0x61, 0x7a); // a-z
  add(0x41, 0x5a); // A-Z
  add(0xe6, 0xe7); // æ ç
  symbols.push('ð', 'ø', 'ħ', 'ŋ', 'œ', 'β', 'θ', 'χ', 'ᵻ', '̃');
  add(0x250, 0x2af); // IPA extensions
  add(0x2b0, 0x2ff); // modifier letters: ˈ ˌ ː ʰ …
  add(0x2191, 0x2198); // tone arrows
  return [...new Set(symbols)];
}

function tokensTxt(symbols: string[]): string {
  return symbols.map((s, i) => `${s} ${i}`).join('\n') + '\n';
}

interface BodyOptions {
  /** The int64 [1, N] token input. */
  tokens: string;
  /** A float scalar tensor: the length scale (1 = normal speed). */
  lengthScale: string;
  /** Output samples per token at length scale 1. */
  hop: number;
  sampleRate: number;
  /** Shape of the output: [1, 1, T] (VITS) or [T] (Kokoro). */
  outputShape: 'b1t' | 't';
  output: string;
  /** Dense layers over the tokens: the per-token cost (default 6 of 256 wide). */
  layers?: number;
  width?: number;
}

/** The shared made-up body: dense layers over the tokens, then a tone of length tokens × hop × scale. */
function body(o: BodyOptions): { nodes: Node[]; initializers: Tensor[] } {
  const width = o.width ?? 256;
  const layers = o.layers ?? 6;
  const rand = seeded(42);
  const nodes: Node[] = [];
  const initializers: Tensor[] = [
    int64Tensor('col_shape', [2], [-1, 1]),
    floatTensor(
      'w_in',
      [1, width],
      Array.from({ length: width }, () => rand() * 0.01),
    ),
    floatTensor('hop', [], [o.hop]),
    floatTensor('omega', [], [(2 * Math.PI * 220) / o.sampleRate]),
    floatTensor('amplitude', [], [0.3]),
    floatTensor('tiny', [], [1e-6]),
    int64Tensor('one', [1], [1]),
    int64Tensor('axis_t', [], [o.outputShape === 'b1t' ? 2 : 0]),
  ];
  nodes.push(
    { op: 'Cast', inputs: [o.tokens], outputs: ['tokens_f'], attributes: { to: { kind: 'int', value: 1 } } },
    { op: 'Reshape', inputs: ['tokens_f', 'col_shape'], outputs: ['tokens_col'] },
    { op: 'MatMul', inputs: ['tokens_col', 'w_in'], outputs: ['h0'] },
  );
  for (let l = 0; l < layers; l++) {
    initializers.push(
      floatTensor(
        `w${l + 1}`,
        [width, width],
        Array.from({ length: width * width }, () => (rand() - 0.5) / Math.sqrt(width)),
      ),
    );
    nodes.push(
      { op: 'MatMul', inputs: [`h${l}`, `w${l + 1}`], outputs: [`m${l + 1}`] },
      { op: 'Tanh', inputs: [`m${l + 1}`], outputs: [`h${l + 1}`] },
    );
  }
  nodes.push(
    {
      op: 'ReduceMean',
      inputs: [`h${layers}`],
      outputs: ['hidden'],
      attributes: { keepdims: { kind: 'int', value: 0 } },
    },
    // T = number of tokens × hop × length scale
    { op: 'Shape', inputs: [o.tokens], outputs: ['tokens_shape'] },
    { op: 'ReduceProd', inputs: ['tokens_shape'], outputs: ['n_tokens'] },
    { op: 'Cast', inputs: ['n_tokens'], outputs: ['n_f'], attributes: { to: { kind: 'int', value: 1 } } },
    { op: 'Mul', inputs: ['n_f', 'hop'], outputs: ['t_hop'] },
    { op: 'Mul', inputs: ['t_hop', o.lengthScale], outputs: ['t_f'] },
    { op: 'Cast', inputs: ['t_f'], outputs: ['t_i'], attributes: { to: { kind: 'int', value: 7 } } },
  );
  if (o.outputShape === 'b1t') {
    nodes.push({
      op: 'Concat',
      inputs: ['one', 'one', 't_i'],
      outputs: ['out_shape'],
      attributes: { axis: { kind: 'int', value: 0 } },
    });
  } else {
    nodes.push({ op: 'Identity', inputs: ['t_i'], outputs: ['out_shape'] });
  }
  nodes.push(
    {
      op: 'ConstantOfShape',
      inputs: ['out_shape'],
      outputs: ['ones'],
      attributes: { value: { kind: 'tensor', value: floatTensor('value', [1], [1]) } },
    },
    { op: 'CumSum', inputs: ['ones', 'axis_t'], outputs: ['ramp'] },
    { op: 'Mul', inputs: ['ramp', 'omega'], outputs: ['phase'] },
    { op: 'Sin', inputs: ['phase'], outputs: ['tone'] },
    { op: 'Mul', inputs: ['tone', 'amplitude'], outputs: ['quiet_tone'] },
    { op: 'Mul', inputs: ['hidden', 'tiny'], outputs: ['hidden_trace'] },
    { op: 'Add', inputs: ['quiet_tone', 'hidden_trace'], outputs: [o.output] },
  );
  return { nodes, initializers };
}

export interface TinyVoice {
  /** The model directory, laid out as in the release archive. */
  dir: string;
  sampleRate: number;
}

export interface TinyPiperOptions {
  sampleRate?: number;
  /** espeak-ng voice of the model (metadata "voice"), default en-us. */
  voice?: string;
  /** Output samples per token id; default 1024 (so "Hello." lasts about half a second). */
  hop?: number;
}

/**
 * A Piper-shaped VITS voice (as in the vits-piper-* archives): `<dir>/<name>.onnx` with inputs
 * `input` int64[1,N], `input_lengths` int64[1], `scales` float[3] (noise, length, noise_w) and output
 * `output` float[1,1,T]; metadata as Piper's export writes it; `tokens.txt`; and `espeak-ng-data`
 * linked to the system's.
 */
export async function writeTinyPiperVoice(dir: string, options: TinyPiperOptions = {}): Promise<TinyVoice> {
  const sampleRate = options.sampleRate ?? 22_050;
  await fsp.mkdir(dir, { recursive: true });
  const { nodes, initializers } = body({
    tokens: 'input',
    lengthScale: 'length_scale',
    hop: options.hop ?? 1024,
    sampleRate,
    outputShape: 'b1t',
    output: 'output',
  });
  initializers.push(int64Tensor('idx_length', [], [1]));
  nodes.unshift({
    op: 'Gather',
    inputs: ['scales', 'idx_length'],
    outputs: ['length_scale'],
    attributes: { axis: { kind: 'int', value: 0 } },
  });
  const model: OnnxModel = {
    inputs: [
      { name: 'input', type: DataType.INT64, shape: [1, 'N'] },
      { name: 'input_lengths', type: DataType.INT64, shape: [1] },
      { name: 'scales', type: DataType.FLOAT, shape: [3] },
    ],
    outputs: [{ name: 'output', type: DataType.FLOAT, shape: [1, 1, 'T'] }],
    nodes,
    initializers,
    metadata: {
      model_type: 'vits',
      comment: 'piper',
      language: 'English',
      voice: options.voice ?? 'en-us',
      has_espeak: 1,
      n_speakers: 1,
      sample_rate: sampleRate,
      add_blank: 1,
      punctuation: '; : , . ! ? ¡ ¿ — … " « » “ ”',
    },
  };
  await fsp.writeFile(path.join(dir, 'tiny-piper.onnx'), encodeOnnxModel(model));
  await fsp.writeFile(path.join(dir, 'tokens.txt'), tokensTxt(phonemeSymbols()));
  await linkEspeakData(dir);
  return { dir, sampleRate };
}

async function linkEspeakData(dir: string): Promise<void> {
  const data = systemEspeakDataDir();
  if (!data)
    throw new Error('espeak-ng-data not found (install espeak-ng-data, or set JUNE_TEST_ESPEAK_DATA)');
  const link = path.join(dir, 'espeak-ng-data');
  await fsp.rm(link, { recursive: true, force: true });
  await fsp.symlink(data, link);
}

/** A small deterministic generator, so the models are the same on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export interface TinyKokoroOptions {
  speakers?: number;
  /** Output samples per token at speed 1; default 1024. */
  hop?: number;
}

/**
 * A Kokoro-shaped voice (as in the kokoro-* archives): `model.onnx` with inputs `tokens` int64[1,N],
 * `style` float[1,256], `speed` float[1] and output `audio` float[T]; Kokoro's metadata (24 kHz,
 * style_dim 510,1,256); `voices.bin` holding each speaker's 510×256 style table; `tokens.txt`;
 * `espeak-ng-data` linked to the system's.
 */
export async function writeTinyKokoroVoice(dir: string, options: TinyKokoroOptions = {}): Promise<TinyVoice> {
  const sampleRate = 24_000;
  const speakers = options.speakers ?? 2;
  await fsp.mkdir(dir, { recursive: true });
  const { nodes, initializers } = body({
    tokens: 'tokens',
    lengthScale: 'inv_speed',
    hop: options.hop ?? 1024,
    sampleRate,
    outputShape: 't',
    output: 'audio',
  });
  nodes.unshift({ op: 'Reciprocal', inputs: ['speed'], outputs: ['inv_speed'] });
  const model: OnnxModel = {
    inputs: [
      { name: 'tokens', type: DataType.INT64, shape: [1, 'N'] },
      { name: 'style', type: DataType.FLOAT, shape: [1, 256] },
      { name: 'speed', type: DataType.FLOAT, shape: [1] },
    ],
    outputs: [{ name: 'audio', type: DataType.FLOAT, shape: ['T'] }],
    nodes,
    initializers,
    metadata: {
      model_type: 'kokoro',
      language: 'English',
      voice: 'en-us',
      has_espeak: 1,
      n_speakers: speakers,
      sample_rate: sampleRate,
      version: 1,
      style_dim: '510,1,256',
    },
  };
  await fsp.writeFile(path.join(dir, 'model.onnx'), encodeOnnxModel(model));
  const styles = new Float32Array(speakers * 510 * 256).fill(0.01);
  await fsp.writeFile(path.join(dir, 'voices.bin'), Buffer.from(styles.buffer));
  await fsp.writeFile(path.join(dir, 'tokens.txt'), tokensTxt(phonemeSymbols()));
  await linkEspeakData(dir);
  return { dir, sampleRate };
}

export interface TinyMatchaVoice extends TinyVoice {
  /** The vocoder file (Vocos-shaped), outside the voice directory as in the model cache. */
  vocoder: string;
}

export interface TinyMatchaOptions {
  /** Mel frames per token at length scale 1; default 4 (with the vocoder's hop of 256: 1024 samples). */
  framesPerToken?: number;
}

const MEL_BINS = 80;
const VOCOS = { nFft: 1024, hop: 256 } as const;

/**
 * A Matcha-TTS-shaped voice as in the matcha-icefall-* archives, and a Vocos-shaped vocoder as
 * vocos-22khz-univ.onnx: the acoustic model `model-steps-3.onnx` takes `x` int64[1,N], `x_length`
 * int64[1], `noise_scale` float[1], `length_scale` float[1] and gives `mel` float[1,80,T] (T = tokens ×
 * framesPerToken × length scale), with icefall's metadata; the vocoder takes `mels` float[1,80,T] and
 * gives `mag`, `x`, `y` float[1,513,T] (magnitude, cosine and sine of the phase), with the STFT settings
 * sherpa-onnx's inverse STFT reads from its metadata. `tokens.txt` and `espeak-ng-data` as for Piper.
 */
export async function writeTinyMatchaVoice(
  dir: string,
  vocoderFile: string,
  options: TinyMatchaOptions = {},
): Promise<TinyMatchaVoice> {
  const sampleRate = 22_050;
  await fsp.mkdir(dir, { recursive: true });
  // the acoustic model: the shared body's "tone" is one value per mel frame; every bin gets it
  const { nodes, initializers } = body({
    tokens: 'x',
    lengthScale: 'length_scale_s',
    hop: options.framesPerToken ?? 4,
    sampleRate,
    outputShape: 'b1t',
    output: 'frame_values',
    layers: 2,
    width: 64,
  });
  initializers.push(
    int64Tensor('mel_zero', [1], [0]),
    floatTensor('mel_bins_ones', [1, MEL_BINS, 1], new Array(MEL_BINS).fill(1)),
  );
  nodes.unshift({ op: 'Squeeze', inputs: ['length_scale', 'mel_zero'], outputs: ['length_scale_s'] });
  nodes.push({ op: 'Mul', inputs: ['frame_values', 'mel_bins_ones'], outputs: ['mel'] });
  const acoustic: OnnxModel = {
    inputs: [
      { name: 'x', type: DataType.INT64, shape: [1, 'N'] },
      { name: 'x_length', type: DataType.INT64, shape: [1] },
      { name: 'noise_scale', type: DataType.FLOAT, shape: [1] },
      { name: 'length_scale', type: DataType.FLOAT, shape: [1] },
    ],
    outputs: [{ name: 'mel', type: DataType.FLOAT, shape: [1, MEL_BINS, 'T'] }],
    nodes,
    initializers,
    metadata: {
      model_type: 'matcha-tts',
      language: 'English',
      voice: 'en-us',
      has_espeak: 1,
      jieba: 0,
      n_speakers: 1,
      sample_rate: sampleRate,
      version: 1,
      pad_id: 0,
      use_eos_bos: 1,
      num_ode_steps: 3,
      model_author: 'icefall',
      dataset: 'LJ Speech',
    },
  };
  await fsp.writeFile(path.join(dir, 'model-steps-3.onnx'), encodeOnnxModel(acoustic));
  await fsp.writeFile(path.join(dir, 'tokens.txt'), tokensTxt(phonemeSymbols()));
  await linkEspeakData(dir);

  // the vocoder: a random projection of each frame's 80 bins to 513 frequency bins, as phase; magnitude
  // 1 in every bin, so the inverse STFT gives a noise-like signal (RMS about 0.02) of about T × hop samples
  const bins = VOCOS.nFft / 2 + 1;
  const rand = seeded(7);
  const vocoder: OnnxModel = {
    inputs: [{ name: 'mels', type: DataType.FLOAT, shape: [1, MEL_BINS, 'T'] }],
    outputs: [
      { name: 'mag', type: DataType.FLOAT, shape: [1, bins, 'T'] },
      { name: 'x', type: DataType.FLOAT, shape: [1, bins, 'T'] },
      { name: 'y', type: DataType.FLOAT, shape: [1, bins, 'T'] },
    ],
    nodes: [
      {
        op: 'Transpose',
        inputs: ['mels'],
        outputs: ['frames'],
        attributes: { perm: { kind: 'ints', value: [0, 2, 1] } },
      },
      { op: 'MatMul', inputs: ['frames', 'w_phase'], outputs: ['phase_t'] },
      {
        op: 'Transpose',
        inputs: ['phase_t'],
        outputs: ['phase'],
        attributes: { perm: { kind: 'ints', value: [0, 2, 1] } },
      },
      { op: 'Cos', inputs: ['phase'], outputs: ['x'] },
      { op: 'Sin', inputs: ['phase'], outputs: ['y'] },
      { op: 'Abs', inputs: ['phase'], outputs: ['phase_abs'] },
      { op: 'Mul', inputs: ['phase_abs', 'zero'], outputs: ['phase_zero'] },
      { op: 'Add', inputs: ['phase_zero', 'magnitude'], outputs: ['mag'] },
    ],
    initializers: [
      floatTensor(
        'w_phase',
        [MEL_BINS, bins],
        Array.from({ length: MEL_BINS * bins }, () => rand() * 2 * Math.PI),
      ),
      floatTensor('zero', [], [0]),
      floatTensor('magnitude', [], [1]),
    ],
    metadata: {
      model_type: 'vocos',
      sample_rate: sampleRate,
      version: 1,
      n_fft: VOCOS.nFft,
      hop_length: VOCOS.hop,
      win_length: VOCOS.nFft,
      window_type: 'hann',
      center: 1,
      pad_mode: 'reflect',
      normalized: 0,
    },
  };
  await fsp.mkdir(path.dirname(vocoderFile), { recursive: true });
  await fsp.writeFile(vocoderFile, encodeOnnxModel(vocoder));
  return { dir, sampleRate, vocoder: vocoderFile };
}
