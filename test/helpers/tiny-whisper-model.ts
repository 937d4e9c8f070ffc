/**
 * Writes a tiny whisper.cpp model with random weights, so the real load → encode → decode path of
 * whisper.cpp can run in tests without downloading a 140 MB model. The text it produces is gibberish,
 * but the file is structurally what whisper.cpp's loader (`whisper_model_load`) reads from a converted
 * OpenAI checkpoint (models/convert-pt-to-ggml.py): legacy 'ggml' magic, hparams, a mel filterbank, the
 * GPT-2 byte-level vocabulary, then named tensors.
 *
 * The output depends only on the options (seed included), so the same options give the same bytes.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface TinyWhisperModelOptions {
  /** PRNG seed for the weights. Default 1. */
  seed?: number;
  /** Multilingual models have n_vocab 51865 and language tokens that auto-detection uses. Default false (".en"). */
  multilingual?: boolean;
  /** Width of encoder and decoder (whisper.cpp requires them equal). Default 64. */
  nState?: number;
  /** Attention heads on each side. Default 2. */
  nHead?: number;
  /** Transformer layers on each side. Default 1. */
  nLayer?: number;
  /** Default 1500: 30 s of mel frames after the stride-2 conv; whisper.cpp assumes it for full windows. */
  nAudioCtx?: number;
  /** Default 448, as in every released Whisper model. */
  nTextCtx?: number;
  /** 0 = all float32, 1 = float16 matrices like the released ggml models. Default 1. */
  ftype?: 0 | 1;
  /** GPT-2 style vocab.json (token → id). Default: the Whisper tiny.en vocabulary in ../shared. */
  vocabPath?: string;
}

const GGML_MAGIC = 0x67676d6c; // "ggml" read as a little-endian uint32
const N_MELS = 80;
const N_FFT_BINS = 201; // 400-sample FFT → 201 bins
const SAMPLE_RATE = 16_000;
const TYPE_F32 = 0;
const TYPE_F16 = 1;

/** Default vocabulary: the repository's sibling shared/ directory (test data only; June itself never reads it). */
export const defaultWhisperVocabPath = fileURLToPath(
  new URL('../../../shared/data/whisper-tokenizer/vocab.json', import.meta.url),
);

export async function writeTinyWhisperModel(path: string, opts: TinyWhisperModelOptions = {}): Promise<void> {
  const nState = opts.nState ?? 64;
  const nHead = opts.nHead ?? 2;
  const nLayer = opts.nLayer ?? 1;
  const nAudioCtx = opts.nAudioCtx ?? 1500;
  const nTextCtx = opts.nTextCtx ?? 448;
  const ftype = opts.ftype ?? 1;
  const multilingual = opts.multilingual ?? false;
  // whisper.cpp tells the model kinds apart by n_vocab alone: 51864 English-only, ≥ 51865 multilingual.
  const nVocab = multilingual ? 51865 : 51864;
  if (nState % nHead !== 0) throw new Error(`nState ${nState} must be divisible by nHead ${nHead}`);

  const tokens = await readVocabBytes(opts.vocabPath ?? defaultWhisperVocabPath, multilingual);
  const rand = mulberry32(opts.seed ?? 1);

  const file = await open(path, 'w');
  try {
    const out = new ChunkWriter(file);
    await out.write(
      int32s(GGML_MAGIC, nVocab, nAudioCtx, nState, nHead, nLayer, nTextCtx, nState, nHead, nLayer),
    );
    await out.write(int32s(N_MELS, ftype));

    await out.write(int32s(N_MELS, N_FFT_BINS));
    await out.write(float32Bytes(slaneyMelFilterbank(N_MELS, N_FFT_BINS, SAMPLE_RATE)));

    await out.write(int32s(tokens.length));
    for (const token of tokens) {
      await out.write(int32s(token.length));
      await out.write(token);
    }

    // Matrices follow ftype; biases, norms, positional embeddings and conv biases are always f32, exactly
    // as convert-pt-to-ggml.py writes them (the loader rejects a file whose tensor types differ).
    const matrixType = ftype === 1 ? TYPE_F16 : TYPE_F32;
    for (const t of tensorSpecs({ nState, nLayer, nAudioCtx, nTextCtx, nVocab })) {
      const type = t.matrix ? matrixType : TYPE_F32;
      const name = Buffer.from(t.name, 'utf8');
      await out.write(int32s(t.ne.length, name.length, type, ...t.ne));
      await out.write(name);
      const values = t.init(
        t.ne.reduce((a, b) => a * b, 1),
        rand,
      );
      await out.write(type === TYPE_F16 ? float16Bytes(values) : float32Bytes(values));
    }
    await out.flush();
  } finally {
    await file.close();
  }
}

// ------------------------------------------------------------------------------------------ tensors

interface TensorSpec {
  name: string;
  /** ggml order: ne[0] is the innermost (fastest-varying) dimension. */
  ne: number[];
  /** Stored in the model's ftype (a weight matrix or conv kernel) rather than always f32. */
  matrix: boolean;
  init: (n: number, rand: () => number) => Float32Array;
}

const ones = (n: number) => new Float32Array(n).fill(1);
const zeros = (n: number) => new Float32Array(n);
/** Uniform in ±1/√fanIn keeps activations near unit scale through the random layers. */
const scaled = (fanIn: number) => (n: number, rand: () => number) => {
  const a = 1 / Math.sqrt(fanIn);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (rand() * 2 - 1) * a;
  return v;
};

function tensorSpecs(h: {
  nState: number;
  nLayer: number;
  nAudioCtx: number;
  nTextCtx: number;
  nVocab: number;
}): TensorSpec[] {
  const s = h.nState;
  const vec = (name: string, init: TensorSpec['init']): TensorSpec => ({
    name,
    ne: [s],
    matrix: false,
    init,
  });
  const mat = (name: string, rows: number, cols: number): TensorSpec => ({
    name,
    ne: [cols, rows],
    matrix: true,
    init: scaled(cols),
  });
  const linear = (prefix: string, rows: number, cols: number, bias = true): TensorSpec[] => [
    mat(`${prefix}.weight`, rows, cols),
    ...(bias ? [{ name: `${prefix}.bias`, ne: [rows], matrix: false, init: scaled(cols) }] : []),
  ];
  const norm = (prefix: string): TensorSpec[] => [
    vec(`${prefix}.weight`, ones),
    vec(`${prefix}.bias`, zeros),
  ];
  // Same block layout on both sides; the decoder adds cross-attention. The key projection has no bias.
  const block = (prefix: string, cross: boolean): TensorSpec[] => [
    ...linear(`${prefix}.attn.query`, s, s),
    ...linear(`${prefix}.attn.key`, s, s, false),
    ...linear(`${prefix}.attn.value`, s, s),
    ...linear(`${prefix}.attn.out`, s, s),
    ...norm(`${prefix}.attn_ln`),
    ...(cross
      ? [
          ...linear(`${prefix}.cross_attn.query`, s, s),
          ...linear(`${prefix}.cross_attn.key`, s, s, false),
          ...linear(`${prefix}.cross_attn.value`, s, s),
          ...linear(`${prefix}.cross_attn.out`, s, s),
          ...norm(`${prefix}.cross_attn_ln`),
        ]
      : []),
    ...linear(`${prefix}.mlp.0`, 4 * s, s),
    ...linear(`${prefix}.mlp.2`, s, 4 * s),
    ...norm(`${prefix}.mlp_ln`),
  ];

  const specs: TensorSpec[] = [
    { name: 'decoder.positional_embedding', ne: [s, h.nTextCtx], matrix: false, init: scaled(s) },
    { name: 'encoder.positional_embedding', ne: [s, h.nAudioCtx], matrix: false, init: scaled(s) },
    // Conv kernels [out, in, 3]; their biases are stored as [out, 1] ([1, out] in ggml order).
    { name: 'encoder.conv1.weight', ne: [3, N_MELS, s], matrix: true, init: scaled(3 * N_MELS) },
    { name: 'encoder.conv1.bias', ne: [1, s], matrix: false, init: zeros },
    { name: 'encoder.conv2.weight', ne: [3, s, s], matrix: true, init: scaled(3 * s) },
    { name: 'encoder.conv2.bias', ne: [1, s], matrix: false, init: zeros },
  ];
  for (let i = 0; i < h.nLayer; i++) specs.push(...block(`encoder.blocks.${i}`, false));
  specs.push(...norm('encoder.ln_post'));
  specs.push({ name: 'decoder.token_embedding.weight', ne: [s, h.nVocab], matrix: true, init: scaled(s) });
  for (let i = 0; i < h.nLayer; i++) specs.push(...block(`decoder.blocks.${i}`, true));
  specs.push(...norm('decoder.ln'));
  return specs;
}

// ------------------------------------------------------------------------------------------ vocabulary

/**
 * Token byte strings in id order. vocab.json spells each byte as a printable character (GPT-2's
 * bytes_to_unicode); whisper.cpp wants the raw bytes, so map them back.
 */
async function readVocabBytes(vocabPath: string, multilingual: boolean): Promise<Buffer[]> {
  const vocab = JSON.parse(await readFile(vocabPath, 'utf8')) as Record<string, number>;
  const charToByte = unicodeToBytes();
  const tokens: Buffer[] = [];
  for (const [text, id] of Object.entries(vocab)) {
    const bytes: number[] = [];
    for (const ch of text) {
      const b = charToByte.get(ch.codePointAt(0)!);
      if (b === undefined)
        throw new Error(`vocab token ${JSON.stringify(text)} has a character outside the byte map`);
      bytes.push(b);
    }
    tokens[id] = Buffer.from(bytes);
  }
  for (let i = 0; i < tokens.length; i++) if (!tokens[i]) throw new Error(`vocab has no token with id ${i}`);
  // In multilingual models end-of-text moves to 50257 and id 50256 is an unused, empty token.
  if (multilingual && tokens.length > 50256) tokens[50256] = Buffer.alloc(0);
  return tokens;
}

/** Inverse of GPT-2's bytes_to_unicode: printable code point → the byte it stands for. */
function unicodeToBytes(): Map<number, number> {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const map = new Map<number, number>();
  let shifted = 0;
  for (let b = 0; b < 256; b++) map.set(printable(b) ? b : 256 + shifted++, b);
  return map;
}

// ------------------------------------------------------------------------------------------ mel filters

/** librosa.filters.mel(sr, n_fft=400, n_mels) with the Slaney scale and norm, as Whisper uses. */
function slaneyMelFilterbank(nMels: number, nBins: number, sampleRate: number): Float32Array {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  const hzToMel = (f: number) => (f >= minLogHz ? minLogMel + Math.log(f / minLogHz) / logStep : f / fSp);
  const melToHz = (m: number) => (m >= minLogMel ? minLogHz * Math.exp(logStep * (m - minLogMel)) : fSp * m);

  const maxMel = hzToMel(sampleRate / 2);
  const melHz = Array.from({ length: nMels + 2 }, (_, i) => melToHz((maxMel * i) / (nMels + 1)));
  const out = new Float32Array(nMels * nBins);
  for (let m = 0; m < nMels; m++) {
    const lo = melHz[m]!;
    const mid = melHz[m + 1]!;
    const hi = melHz[m + 2]!;
    const enorm = 2 / (hi - lo);
    for (let k = 0; k < nBins; k++) {
      const f = (k * sampleRate) / 2 / (nBins - 1);
      const w = Math.max(0, Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
      out[m * nBins + k] = w * enorm;
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------ bytes

/** Small, fast, seedable PRNG (mulberry32): uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function int32s(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => (v > 0x7fffffff ? b.writeUInt32LE(v, 4 * i) : b.writeInt32LE(v, 4 * i)));
  return b;
}

function float32Bytes(values: Float32Array): Buffer {
  // ggml files are little-endian, as is every platform Node runs June on, so the array's bytes are the file's.
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** IEEE half precision, round-to-nearest; the weights here are small, so no overflow handling is needed beyond clamping. */
function float16Bytes(values: Float32Array): Buffer {
  const out = new Uint16Array(values.length);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    const x = u32[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = ((x >>> 23) & 0xff) - 127 + 15;
    const mant = x & 0x7fffff;
    let h: number;
    if (exp <= 0) {
      // Subnormal half (or zero): shift the implicit-1 mantissa into place.
      h = exp < -10 ? sign : sign | ((((mant | 0x800000) >>> (1 - exp)) + 0x1000) >>> 13);
    } else if (exp >= 31) {
      h = sign | 0x7bff; // clamp to the largest finite half
    } else {
      h = sign | ((exp << 10) + ((mant + 0x1000) >>> 13));
    }
    out[i] = h;
  }
  return Buffer.from(out.buffer);
}

/** Batches small writes; a model is ~7 MB written as thousands of pieces. */
class ChunkWriter {
  private parts: Buffer[] = [];
  private size = 0;
  constructor(private readonly file: FileHandle) {}
  async write(buf: Buffer): Promise<void> {
    this.parts.push(buf);
    this.size += buf.length;
    if (this.size >= 1 << 20) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.size === 0) return;
    await this.file.write(Buffer.concat(this.parts, this.size));
    this.parts = [];
    this.size = 0;
  }
}
