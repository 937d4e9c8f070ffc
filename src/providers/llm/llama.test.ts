import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTinyGguf } from '../../../test/helpers/tiny-gguf.js';
import { CancelledError, ModelError, StageTimeoutError } from '../../util/errors.js';
import { collectChat, type ChatRequest, type LlmStreamEvent } from '../types.js';
import { LlamaLanguageModel, type LlamaLanguageModelOptions } from './llama.js';
import { describeLanguageModelBehaviour } from './llm.behaviour.js';

/** A logger whose lines the test can read back. */
function recordingLogger() {
  const lines: { msg: string; [key: string]: unknown }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

async function events(stream: AsyncIterable<LlmStreamEvent>): Promise<LlmStreamEvent[]> {
  const out: LlmStreamEvent[] = [];
  for await (const ev of stream) out.push(ev);
  return out;
}

const hello = (extra: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [
    { role: 'system', content: 'You are June.' },
    { role: 'user', content: 'Hello' },
  ],
  ...extra,
});

describe('LlamaLanguageModel', () => {
  let dir: string;
  const models: LlamaLanguageModel[] = [];
  const file = (name: string) => path.join(dir, name);
  const create = (modelFile: string, extra: Partial<LlamaLanguageModelOptions> = {}) => {
    const model = new LlamaLanguageModel({
      modelPath: file(modelFile),
      contextSize: 512,
      threads: 1,
      maxTokens: 64,
      temperature: 0.6,
      ...extra,
    });
    models.push(model);
    return model;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'june-llama-'));
    await writeTinyGguf(file('reply.gguf'), { script: ['Hello', ' world', '!', '<|im_end|>'] });
    await writeTinyGguf(file('thinking.gguf'), {
      script: [
        '<think>',
        '\n\n',
        'Let me think',
        '\n\n\n',
        '</think>',
        '\n\n\n\n',
        'Hi',
        ' there',
        '<|im_end|>',
      ],
    });
    await writeTinyGguf(file('endless.gguf'), { script: ['Hello', ' world'], loopScript: true });
    // The tool instructions the chat wrapper adds to the system prompt need more than 512 tokens.
    await writeTinyGguf(file('tool.gguf'), {
      contextLength: 2048,
      script: [
        ...[
          '<tool_call>',
          '\n{"name": "',
          'get_weather',
          '", "arguments": ',
          '{"',
          'city',
          '": "',
          'Paris',
          '"}',
        ],
        ...['}\n', '</tool_call>', '<|im_end|>'],
      ],
    });
    await writeTinyGguf(file('random.gguf'), { seed: 11 });
  });

  afterAll(async () => {
    await Promise.all(models.map((m) => m.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('streams the reply as text events followed by one done event', async () => {
    const model = create('reply.gguf');
    const evs = await events(model.chatStream(hello()));
    expect(evs.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    expect(evs.slice(0, -1).every((e) => e.type === 'text')).toBe(true);
    expect(evs.filter((e) => e.type === 'text').length).toBeGreaterThanOrEqual(2);
    const result = await collectChat(model.chatStream(hello()));
    expect(result.text).toBe('Hello world!');
    expect(result.usage?.completionTokens).toBeGreaterThanOrEqual(3);
    expect(result.usage?.promptTokens).toBeGreaterThan(5);
    expect(model.model).toBe('reply.gguf');
  });

  it('runs a model with random weights end to end', async () => {
    const result = await collectChat(create('random.gguf').chatStream(hello({ maxTokens: 8 })));
    expect(['stop', 'length']).toContain(result.finishReason);
    expect(result.usage?.completionTokens).toBeGreaterThan(0);
    expect(result.usage?.completionTokens).toBeLessThanOrEqual(8);
  });

  it('reports <think> segments as reasoning, never as text', async () => {
    const evs = await events(create('thinking.gguf').chatStream(hello()));
    const firstText = evs.findIndex((e) => e.type === 'text');
    const lastReasoning = evs.findLastIndex((e) => e.type === 'reasoning');
    expect(lastReasoning).toBeGreaterThanOrEqual(0);
    expect(lastReasoning).toBeLessThan(firstText);
    const result = await collectChat(
      (async function* () {
        yield* evs;
      })(),
    );
    expect(result.reasoning).toBe('Let me think');
    expect(result.text).toBe('Hi there');
    expect(result.finishReason).toBe('stop');
  });

  it('stops at maxTokens with finish reason "length", from the request or the options', async () => {
    const model = create('endless.gguf', { maxTokens: 3 });
    const capped = await collectChat(model.chatStream(hello({ maxTokens: 5 })));
    expect(capped.finishReason).toBe('length');
    expect(capped.usage?.completionTokens).toBe(5);
    expect(capped.text).toBe('Hello worldHello worldHello');
    const byDefault = await collectChat(model.chatStream(hello()));
    expect(byDefault.text).toBe('Hello worldHello');
  });

  it('loads the model once and keeps it loaded across requests', async () => {
    const { logger, lines } = recordingLogger();
    const model = create('reply.gguf', { logger });
    await Promise.all([model.load(), model.load(), collectChat(model.chatStream(hello()))]);
    await collectChat(model.chatStream(hello()));
    await model.load();
    const loads = lines.filter((l) => l.msg === 'embedded language model loaded');
    expect(loads).toHaveLength(1);
    expect(loads[0]).toMatchObject({ contextSize: 512, chatWrapper: 'Qwen' });
    expect(lines.filter((l) => l.msg === 'llm reply generated')).toHaveLength(2);
  });

  it('serialises concurrent requests so replies never interleave', async () => {
    const model = create('reply.gguf');
    const results = await Promise.all([1, 2, 3].map(() => collectChat(model.chatStream(hello()))));
    expect(results.map((r) => r.text)).toEqual(['Hello world!', 'Hello world!', 'Hello world!']);
  });

  it('stops promptly with CancelledError when aborted mid-stream, and serves the next request', async () => {
    const model = create('endless.gguf');
    const controller = new AbortController();
    let texts = 0;
    const run = async () => {
      for await (const ev of model.chatStream(hello({ maxTokens: 100_000, signal: controller.signal }))) {
        if (ev.type === 'text' && ++texts === 2) controller.abort();
      }
    };
    await expect(run()).rejects.toBeInstanceOf(CancelledError);
    // Promptly in tokens, not milliseconds: the endless model would otherwise go on for 100 000.
    expect(texts).toBeLessThan(10);
    const next = await collectChat(model.chatStream(hello({ maxTokens: 2 })));
    expect(next.text).toBe('Hello world');
  });

  it('rethrows the abort reason (a stage timeout) and rejects an already aborted request', async () => {
    const model = create('endless.gguf');
    const timeout = AbortSignal.abort(new StageTimeoutError('llm', 10));
    await expect(collectChat(model.chatStream(hello({ signal: timeout })))).rejects.toBeInstanceOf(
      StageTimeoutError,
    );
    const controller = new AbortController();
    setTimeout(() => controller.abort(new StageTimeoutError('llm', 50)), 50);
    const long = collectChat(model.chatStream(hello({ maxTokens: 100_000, signal: controller.signal })));
    await expect(long).rejects.toMatchObject({ code: 'timeout', stage: 'llm' });
  });

  it('frees the model when the reader stops early', async () => {
    const model = create('endless.gguf');
    for await (const ev of model.chatStream(hello({ maxTokens: 100_000 }))) {
      if (ev.type === 'text') break;
    }
    const next = await collectChat(model.chatStream(hello({ maxTokens: 1 })));
    expect(next.text).toBe('Hello');
  });

  it('turns a tool call into a tool_call event and finish reason "tool_calls"', async () => {
    const model = create('tool.gguf', { contextSize: 2048 });
    const tools = [
      {
        name: 'get_weather',
        description: 'Current weather in a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    ];
    const first = await collectChat(model.chatStream({ ...hello(), tools }));
    expect(first.finishReason).toBe('tool_calls');
    expect(first.text).toBe('');
    expect(first.toolCalls).toHaveLength(1);
    const call = first.toolCalls[0]!;
    expect(call.name).toBe('get_weather');
    expect(JSON.parse(call.arguments)).toEqual({ city: 'Paris' });
    expect(call.id).toMatch(/^call_/);

    // The result goes back as a tool message; the model continues its turn from there.
    const followUp = await collectChat(
      model.chatStream({
        messages: [
          ...hello().messages,
          { role: 'assistant', content: '', toolCalls: [call] },
          { role: 'tool', toolCallId: call.id, name: call.name, content: '{"temperature": 21}' },
        ],
        tools,
        maxTokens: 40,
      }),
    );
    expect(['stop', 'length', 'tool_calls']).toContain(followUp.finishReason);
    expect(followUp.usage?.promptTokens).toBeGreaterThan(first.usage!.promptTokens!);
  });

  it('fails with ModelError model_not_found for a missing file, naming the path', async () => {
    const model = create('nope.gguf');
    const err = await model.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err).toMatchObject({ code: 'model_not_found' });
    expect((err as Error).message).toContain(file('nope.gguf'));
    await expect(collectChat(model.chatStream(hello()))).rejects.toMatchObject({ code: 'model_not_found' });
  });

  it('fails with ModelError model_invalid for a corrupt file', async () => {
    await writeFile(
      file('noise.gguf'),
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)),
    );
    await expect(create('noise.gguf').load()).rejects.toMatchObject({ code: 'model_invalid' });
    // A GGUF header followed by garbage gets past the magic check and fails inside llama.cpp.
    const real = await readFile(file('reply.gguf'));
    await writeFile(file('truncated.gguf'), real.subarray(0, 2000));
    const err = await create('truncated.gguf')
      .load()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err).toMatchObject({ code: 'model_invalid' });
  });

  it('close() cancels a generation in flight and a later request loads the model again', async () => {
    const { logger, lines } = recordingLogger();
    const model = create('endless.gguf', { logger });
    let started!: () => void;
    const firstToken = new Promise<void>((resolve) => (started = resolve));
    const running = (async () => {
      for await (const ev of model.chatStream(hello({ maxTokens: 100_000 })))
        if (ev.type === 'text') started();
    })().catch((e: unknown) => e);
    await firstToken;
    await model.close();
    expect(await running).toBeInstanceOf(CancelledError);
    const again = await collectChat(model.chatStream(hello({ maxTokens: 2 })));
    expect(again.text).toBe('Hello world');
    expect(lines.filter((l) => l.msg === 'embedded language model loaded')).toHaveLength(2);
  });
});

// The shared suite, on a tiny model that thinks before it answers, so reasoning separation is exercised too.
describeLanguageModelBehaviour('llama (tiny GGUF)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'june-llama-behaviour-'));
  const modelPath = path.join(dir, 'thinker.gguf');
  await writeTinyGguf(modelPath, {
    contextLength: 2048,
    script: [
      ...['<think>', '\n\n', 'The user', ' wants', ' an answer', '.', '\n\n\n', '</think>', '\n\n\n\n'],
      ...['Sure', ',', ' here', ' it', ' is', '!', '<|im_end|>'],
    ],
  });
  const model = new LlamaLanguageModel({
    modelPath,
    contextSize: 2048,
    threads: 1,
    maxTokens: 48,
    temperature: 0.6,
  });
  return { model, cleanup: () => rm(dir, { recursive: true, force: true }) };
});
