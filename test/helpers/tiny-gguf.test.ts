import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { getSharedLlama } from '../../src/providers/llm/llama-runtime.js';
import { buildTinyGguf, writeTinyGguf } from './tiny-gguf.js';

describe('writeTinyGguf', () => {
  let dir: string;
  let file: string;
  let model: LlamaModel;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'june-tiny-gguf-'));
    file = path.join(dir, 'tiny.gguf');
    await writeTinyGguf(file, { seed: 7 });
    model = await (await getSharedLlama()).loadModel({ modelPath: file });
  });

  afterAll(async () => {
    await model?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a GGUF v3 file whose metadata and tensors a GGUF reader accepts', async () => {
    const { readGgufFileInfo } = await import('node-llama-cpp');
    const info = await readGgufFileInfo(file);
    expect(info.version).toBe(3);
    expect(info.metadata.general.architecture).toBe('qwen3');
    const names = info.fullTensorInfo?.map((t) => t.name) ?? [];
    expect(names).toContain('token_embd.weight');
    expect(names).toContain('blk.1.attn_k_norm.weight');
    expect(names).toContain('output.weight');
    for (const tensor of info.fullTensorInfo ?? []) expect(Number(tensor.offset) % 32).toBe(0);
    expect(info.metadata.tokenizer.chat_template).toContain('<|im_start|>');
  });

  it('is loaded by llama.cpp, with the vocabulary, context length and special tokens it declares', () => {
    expect(model.trainContextSize).toBe(512);
    expect(model.tokens.eosString).toBe('<|im_end|>');
    const vocabSize = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
    expect(vocabSize).toBeGreaterThan(300);
    expect(vocabSize).toBeLessThan(1000);
  });

  it('tokenizes text losslessly, whole words as single tokens and control tokens only when asked', () => {
    const text = 'Hello world, what is the weather in Paris? Ça va? 🙂';
    const tokens = model.tokenize(text);
    expect(model.detokenize(tokens)).toBe(text);
    expect(model.tokenize(' weather')).toHaveLength(1);
    expect(model.tokenize('<|im_start|>user', true)).toHaveLength(2);
    expect(model.tokenize('<|im_start|>').length).toBeGreaterThan(1);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = buildTinyGguf({ seed: 3 });
    expect(buildTinyGguf({ seed: 3 }).equals(a)).toBe(true);
    expect(buildTinyGguf({ seed: 4 }).equals(a)).toBe(false);
  });

  it('builds the llama architecture too', async () => {
    const llamaFile = path.join(dir, 'tiny-llama.gguf');
    await writeTinyGguf(llamaFile, { architecture: 'llama' });
    const llamaModel = await (await getSharedLlama()).loadModel({ modelPath: llamaFile });
    try {
      expect(llamaModel.fileInfo.metadata.general.architecture).toBe('llama');
      expect(llamaModel.detokenize(llamaModel.tokenize('hello world'))).toBe('hello world');
    } finally {
      await llamaModel.dispose();
    }
  });

  it('rejects a script whose pieces are not distinct tokens', () => {
    expect(() => buildTinyGguf({ script: ['Hello', ' world', 'Hello'] })).toThrow(/distinct/);
    expect(() => buildTinyGguf({ script: ['Hello', '\n'] })).toThrow(/distinct/);
  });
});
