/**
 * Writes a tiny but genuine GGUF v3 language model (a few hundred KB) that llama.cpp loads and runs, so the
 * embedded-llama code path can be tested for real without downloading a multi-GB model.
 *
 * The model is a Qwen3-shaped (or llama-shaped) transformer: byte-level BPE vocabulary ("gpt2" tokenizer, all
 * 256 bytes plus a few words and the Qwen special tokens), 64-dim embeddings, 2 layers, 4 heads, f32 weights
 * drawn from a seeded PRNG, and the Qwen3 chat template.
 *
 * With random weights the output is gibberish. To test behaviour that depends on *what* the model says
 * (thinking, stop reasons, tool calls) the weights can be made to follow a `script`: attention and MLP outputs
 * are zeroed so each next token depends only on the current one, and the output matrix is built so that the
 * `trigger` token (the "\n" that ends the "<|im_start|>assistant\n" prompt) is followed by the script's pieces,
 * one token each, in order. The margin is large enough that ordinary sampling temperatures still follow it.
 */
import { writeFile } from 'node:fs/promises';

import { gguf, serializeGguf, type GgufTensor, type GgufValue } from './gguf-writer.js';
import { QWEN3_CHAT_TEMPLATE } from './qwen3-chat-template.js';

export interface TinyGgufOptions {
  /** PRNG seed for the weights; the same seed writes the same bytes. Default 1. */
  seed?: number;
  /** Default "qwen3". */
  architecture?: 'qwen3' | 'llama';
  /** `<arch>.context_length`. Default 512. */
  contextLength?: number;
  /**
   * Text pieces the model emits, one token per piece, after `trigger`. Pieces that are not in the vocabulary
   * are added to it. Every piece must be a distinct token and differ from the trigger. End with "<|im_end|>"
   * to stop, or set `loopScript` to make the last piece lead back to the first (the model never stops).
   */
  script?: string[];
  loopScript?: boolean;
  /** The token that starts the script. Default "\n". */
  trigger?: string;
}

const N_EMBD = 64;
const N_LAYER = 2;
const N_HEAD = 4;
const N_HEAD_KV = 2;
const HEAD_DIM = N_EMBD / N_HEAD;
const N_FF = 128;
const ALIGNMENT = 32;

// A few whole-word tokens, so prompts tokenize to words like a real vocabulary's would.
// prettier-ignore
const WORDS = [
  'user', 'assistant', 'system', 'Hello', ' hello', ' world', 'Hi', ' there', ' I', ' am', ' June', ' you',
  ' the', ' a', ' is', ' it', ' to', ' and', ' of', ' in', ' what', 'What', ' time', ' weather', ' today',
  ' Paris', ' can', ' help', ' think', 'Let', ' me', ' yes', ' no', ' ok', ' name', '.', ',', '!', '?',
  '\n\n', '\n\n\n', '{"', '":', ' "', '"}',
];

const CONTROL = 3;
const USER_DEFINED = 4;
const NORMAL = 1;

/** GPT-2's reversible byte → printable-unicode mapping used by byte-level BPE vocabularies. */
function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table: string[] = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  }
  return table;
}

class Vocabulary {
  readonly tokens: string[] = [];
  readonly types: number[] = [];
  readonly merges: string[] = [];
  private readonly ids = new Map<string, number>();
  private readonly byteChars = bytesToUnicode();

  constructor() {
    for (const ch of this.byteChars) this.add(ch, NORMAL);
  }

  add(token: string, type: number): number {
    const existing = this.ids.get(token);
    if (existing !== undefined) return existing;
    this.tokens.push(token);
    this.types.push(type);
    this.ids.set(token, this.tokens.length - 1);
    return this.tokens.length - 1;
  }

  id(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** Byte-level form of plain text ("\n hi" → "ĊĠhi"). */
  encode(text: string): string[] {
    return [...Buffer.from(text, 'utf8')].map((b) => this.byteChars[b]!);
  }

  /** Adds `text` as one token, with the left-to-right merges (and prefixes) that let BPE produce it. */
  addWord(text: string): number {
    const chars = this.encode(text);
    let current = chars[0]!;
    for (const ch of chars.slice(1)) {
      const next = current + ch;
      if (this.id(next) === undefined) {
        this.merges.push(`${current} ${ch}`);
        this.add(next, NORMAL);
      }
      current = next;
    }
    return this.id(current)!;
  }
}

/** mulberry32 + Box-Muller: small, fast and the same everywhere. */
function gaussianSource(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

function buildVocabulary(options: TinyGgufOptions): { vocab: Vocabulary; special: Record<string, number> } {
  const vocab = new Vocabulary();
  for (const word of WORDS) vocab.addWord(word);
  const special = {
    endOfText: vocab.add('<|endoftext|>', CONTROL),
    imStart: vocab.add('<|im_start|>', CONTROL),
    imEnd: vocab.add('<|im_end|>', CONTROL),
  };
  for (const tag of [
    '<tool_call>',
    '</tool_call>',
    '<tool_response>',
    '</tool_response>',
    '<think>',
    '</think>',
  ]) {
    vocab.add(tag, USER_DEFINED);
  }
  for (const piece of options.script ?? []) {
    if (vocab.id(piece) === undefined) vocab.addWord(piece);
  }
  return { vocab, special };
}

/** Token id of a script piece: a special token by its text, anything else by its byte-level form. */
function pieceId(vocab: Vocabulary, piece: string): number {
  const id = vocab.id(piece) ?? vocab.id(vocab.encode(piece).join(''));
  if (id === undefined) throw new Error(`tiny-gguf: script piece ${JSON.stringify(piece)} is not a token`);
  return id;
}

function buildTensors(options: TinyGgufOptions, vocab: Vocabulary): GgufTensor[] {
  const gauss = gaussianSource(options.seed ?? 1);
  const nVocab = vocab.tokens.length;
  const scripted = (options.script?.length ?? 0) > 0;
  const random = (n: number, std: number) => Float32Array.from({ length: n }, () => gauss() * std);
  const ones = (n: number) => new Float32Array(n).fill(1);
  const zeros = (n: number) => new Float32Array(n);
  const t = (name: string, dims: number[], data: Float32Array): GgufTensor => ({ name, dims, data });

  const embeddings = random(N_EMBD * nVocab, scripted ? 1 : 0.5);
  const output = random(N_EMBD * nVocab, 0.02);
  if (scripted) addScript(options, vocab, embeddings, output);

  const tensors = [
    t('token_embd.weight', [N_EMBD, nVocab], embeddings),
    t('output_norm.weight', [N_EMBD], ones(N_EMBD)),
  ];
  tensors.push(t('output.weight', [N_EMBD, nVocab], output));
  for (let layer = 0; layer < N_LAYER; layer++) {
    const p = `blk.${layer}.`;
    // Zeroed residual writes make a scripted model a pure bigram model of the current token.
    const residual = (n: number) => (scripted ? zeros(n) : random(n, 0.02));
    tensors.push(
      t(`${p}attn_norm.weight`, [N_EMBD], ones(N_EMBD)),
      t(`${p}attn_q.weight`, [N_EMBD, N_HEAD * HEAD_DIM], random(N_EMBD * N_HEAD * HEAD_DIM, 0.02)),
      t(`${p}attn_k.weight`, [N_EMBD, N_HEAD_KV * HEAD_DIM], random(N_EMBD * N_HEAD_KV * HEAD_DIM, 0.02)),
      t(`${p}attn_v.weight`, [N_EMBD, N_HEAD_KV * HEAD_DIM], random(N_EMBD * N_HEAD_KV * HEAD_DIM, 0.02)),
      t(`${p}attn_output.weight`, [N_HEAD * HEAD_DIM, N_EMBD], residual(N_HEAD * HEAD_DIM * N_EMBD)),
    );
    if ((options.architecture ?? 'qwen3') === 'qwen3') {
      tensors.push(t(`${p}attn_q_norm.weight`, [HEAD_DIM], ones(HEAD_DIM)));
      tensors.push(t(`${p}attn_k_norm.weight`, [HEAD_DIM], ones(HEAD_DIM)));
    }
    tensors.push(
      t(`${p}ffn_norm.weight`, [N_EMBD], ones(N_EMBD)),
      t(`${p}ffn_gate.weight`, [N_EMBD, N_FF], random(N_EMBD * N_FF, 0.02)),
      t(`${p}ffn_up.weight`, [N_EMBD, N_FF], random(N_EMBD * N_FF, 0.02)),
      t(`${p}ffn_down.weight`, [N_FF, N_EMBD], residual(N_FF * N_EMBD)),
    );
  }
  return tensors;
}

/** Points the output row of each script piece at the embedding of the token before it. */
function addScript(
  options: TinyGgufOptions,
  vocab: Vocabulary,
  embeddings: Float32Array,
  output: Float32Array,
) {
  const ids = [
    pieceId(vocab, options.trigger ?? '\n'),
    ...(options.script ?? []).map((p) => pieceId(vocab, p)),
  ];
  if (new Set(ids).size !== ids.length) {
    throw new Error('tiny-gguf: script pieces must be distinct tokens, different from the trigger');
  }
  const transitions: [number, number][] = ids.slice(1).map((to, i) => [ids[i]!, to]);
  if (options.loopScript && ids.length > 2) transitions.push([ids.at(-1)!, ids[1]!]);
  const gain = 8;
  for (const [from, to] of transitions) {
    const e = embeddings.subarray(from * N_EMBD, (from + 1) * N_EMBD);
    const norm = Math.hypot(...e);
    for (let i = 0; i < N_EMBD; i++) output[to * N_EMBD + i]! += (gain * e[i]!) / norm;
  }
}

function metadata(options: TinyGgufOptions, vocab: Vocabulary, special: Record<string, number>) {
  const arch = options.architecture ?? 'qwen3';
  const { u32, str } = gguf;
  const entries: [string, GgufValue][] = [
    ['general.architecture', str(arch)],
    ['general.name', str(`June Tiny ${arch === 'qwen3' ? 'Qwen3' : 'Llama'} Test Model`)],
    ['general.alignment', u32(ALIGNMENT)],
    ['general.file_type', u32(0)],
    [`${arch}.context_length`, u32(options.contextLength ?? 512)],
    [`${arch}.embedding_length`, u32(N_EMBD)],
    [`${arch}.block_count`, u32(N_LAYER)],
    [`${arch}.feed_forward_length`, u32(N_FF)],
    [`${arch}.attention.head_count`, u32(N_HEAD)],
    [`${arch}.attention.head_count_kv`, u32(N_HEAD_KV)],
    [`${arch}.attention.key_length`, u32(HEAD_DIM)],
    [`${arch}.attention.value_length`, u32(HEAD_DIM)],
    [`${arch}.attention.layer_norm_rms_epsilon`, gguf.f32(1e-6)],
    [`${arch}.rope.freq_base`, gguf.f32(1_000_000)],
    ['tokenizer.ggml.model', str('gpt2')],
    ['tokenizer.ggml.pre', str('qwen2')],
    ['tokenizer.ggml.tokens', gguf.strings(vocab.tokens)],
    ['tokenizer.ggml.token_type', gguf.i32s(vocab.types)],
    ['tokenizer.ggml.merges', gguf.strings(vocab.merges)],
    ['tokenizer.ggml.eos_token_id', u32(special.imEnd!)],
    ['tokenizer.ggml.padding_token_id', u32(special.endOfText!)],
    ['tokenizer.ggml.bos_token_id', u32(special.endOfText!)],
    ['tokenizer.ggml.add_bos_token', gguf.bool(false)],
    ['tokenizer.chat_template', str(QWEN3_CHAT_TEMPLATE)],
  ];
  return entries;
}

/** Serialises the model described by `options` to GGUF v3 bytes. */
export function buildTinyGguf(options: TinyGgufOptions = {}): Buffer {
  const { vocab, special } = buildVocabulary(options);
  return serializeGguf(metadata(options, vocab, special), buildTensors(options, vocab), ALIGNMENT);
}

/** Writes a tiny GGUF model to `path` (see the module comment and {@link TinyGgufOptions}). */
export async function writeTinyGguf(path: string, options: TinyGgufOptions = {}): Promise<void> {
  await writeFile(path, buildTinyGguf(options));
}
