import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTinyGguf } from '../../../test/helpers/tiny-gguf.js';
import { configSchema, type JuneConfigInput } from '../../config/schema.js';
import { findModel, DEFAULT_LLM_MODEL_ID } from '../../models/registry.js';
import { ModelError } from '../../util/errors.js';
import { collectChat } from '../types.js';
import { createLlamaLanguageModel } from './llama-factory.js';

describe('createLlamaLanguageModel', () => {
  let dir: string;
  const closers: (() => Promise<void>)[] = [];
  const config = (extra: JuneConfigInput) =>
    configSchema.parse({
      modelsDir: path.join(dir, 'empty-cache'),
      offline: true,
      llmContextSize: 512,
      ...extra,
    });
  const ask = { messages: [{ role: 'user' as const, content: 'Hi' }] };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'june-llama-factory-'));
    await writeTinyGguf(path.join(dir, 'endless.gguf'), { script: ['Hello', ' world'], loopScript: true });
  });

  afterAll(async () => {
    await Promise.all(closers.map((close) => close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('uses llmModelPath and the config limits', async () => {
    const model = await createLlamaLanguageModel(
      config({ llmModelPath: path.join(dir, 'endless.gguf'), llmMaxTokens: 3, llmTemperature: 0 }),
      { threads: 1 },
    );
    closers.push(() => model.close());
    expect(model.model).toBe('endless.gguf');
    const result = await collectChat(model.chatStream(ask));
    expect(result.finishReason).toBe('length');
    expect(result.usage?.completionTokens).toBe(3);
  });

  it('uses the default model from the cache when llmModelPath is not set', async () => {
    const file = findModel(DEFAULT_LLM_MODEL_ID)!.file;
    const cache = path.join(dir, 'cache');
    await mkdir(cache);
    await writeTinyGguf(path.join(cache, file), { script: ['Hi', '<|im_end|>'] });
    const model = await createLlamaLanguageModel(config({ modelsDir: cache }), { threads: 1 });
    closers.push(() => model.close());
    expect(model.model).toBe(file);
    expect((await collectChat(model.chatStream(ask))).text).toBe('Hi');
  });

  it('fails with a ModelError when the file is missing or the default model cannot be fetched', async () => {
    await expect(
      createLlamaLanguageModel(config({ llmModelPath: path.join(dir, 'missing.gguf') })),
    ).rejects.toMatchObject({ code: 'model_not_found' });
    const offline = await createLlamaLanguageModel(config({})).catch((e: unknown) => e);
    expect(offline).toBeInstanceOf(ModelError);
    expect(offline).toMatchObject({ code: 'model_offline' });
  });
});
