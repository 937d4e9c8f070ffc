/**
 * A model that starts its replies mid-thought under a name without "Thinking": the late `</think>`
 * retracts what was judged answer, and the model is remembered per server and model so its next reply is
 * read as always-open from the first token.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../observability/logger.js';
import { collectChat, type LlmStreamEvent } from '../types.js';
import { OpenAiLanguageModel } from './openai.js';
import { ThinkingMemory } from './openai-thinking-memory.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../../../test/helpers/fake-openai-server.js';
import {
  LATE_ANSWER,
  LATE_THOUGHT,
  scenarios,
  streamOf,
} from '../../../test/helpers/fake-openai-scenarios.js';

const logger = createLogger('silent');
const SERVED_NAMES = ['qwen3', 'model', 'Qwen/Qwen3-30B-A3B-Thinking-2507'];

let server: FakeOpenAiServer;
let dir: string;
beforeAll(async () => {
  server = await startFakeOpenAiServer({ models: SERVED_NAMES });
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-thinking-'));
});

async function events(model: OpenAiLanguageModel): Promise<LlmStreamEvent[]> {
  const out: LlmStreamEvent[] = [];
  for await (const e of model.chatStream({ messages: [{ role: 'user', content: 'capital of France?' }] }))
    out.push(e);
  return out;
}

const textOf = (evs: LlmStreamEvent[]) => evs.map((e) => (e.type === 'text' ? e.text : '')).join('');

describe.each(SERVED_NAMES)('served as %s', (name) => {
  it('keeps the thought out of the answer', async () => {
    server.enqueue(scenarios.lateCloseThought(name));
    const model = new OpenAiLanguageModel({ baseUrl: server.url, model: name, logger });
    const result = await collectChat(model.chatStream({ messages: [{ role: 'user', content: 'hi' }] }));
    expect(result.text).toBe(LATE_ANSWER);
    expect(result.reasoning).toBe(LATE_THOUGHT);
  });

  it('remembers that the model thinks, so the next reply never shows the thought as answer', async () => {
    const file = path.join(dir, 'data', 'llm-thinking.json');
    const model = () =>
      new OpenAiLanguageModel({
        baseUrl: server.url,
        model: name,
        logger,
        thinkingMemory: new ThinkingMemory(file, logger),
      });
    server.enqueue(scenarios.lateCloseThought(name), scenarios.lateCloseThought(name));
    await events(model());
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(new ThinkingMemory(file).thinks(server.url, name)).toBe(true);

    // a fresh instance (a restarted June) reads the file: no text event ever carries the thought
    const second = await events(model());
    expect(second.some((e) => e.type === 'retract')).toBe(false);
    expect(textOf(second)).toBe(LATE_ANSWER);
    expect(second.filter((e) => e.type === 'reasoning').length).toBeGreaterThan(1); // streamed as it came
  });
});

describe('OpenAiLanguageModel: a late </think>', () => {
  it('retracts the guessed answer with one event that carries the thought so far', async () => {
    server.enqueue(scenarios.lateCloseThought('qwen3'));
    const model = new OpenAiLanguageModel({ baseUrl: server.url, model: 'qwen3', logger });
    const evs = await events(model);
    const retracts = evs.filter((e) => e.type === 'retract');
    expect(retracts).toHaveLength(1);
    const before = evs.slice(0, evs.indexOf(retracts[0]!));
    expect(retracts[0]!.text).toBe(textOf(before));
    expect(LATE_THOUGHT.startsWith(retracts[0]!.text)).toBe(true);
  });

  it('forgets a remembered model that answers without any thought, and ignores configured modes', async () => {
    const file = path.join(dir, 'llm-thinking.json');
    const memory = new ThinkingMemory(file, logger);
    memory.remember(server.url, 'qwen3');
    server.enqueue(streamOf([{ content: 'Just' }, { content: ' an answer.' }]));
    const model = new OpenAiLanguageModel({
      baseUrl: server.url,
      model: 'qwen3',
      logger,
      thinkingMemory: memory,
    });
    await events(model);
    expect(new ThinkingMemory(file).thinks(server.url, 'qwen3')).toBe(false);

    server.enqueue(scenarios.lateCloseThought('qwen3'));
    const never = new OpenAiLanguageModel({
      baseUrl: server.url,
      model: 'qwen3',
      logger,
      thinking: 'never',
      thinkingMemory: memory,
    });
    await events(never);
    expect(memory.thinks(server.url, 'qwen3')).toBe(false);
  });

  it('is shared through its file by processes that each keep one open', () => {
    const file = path.join(dir, 'llm-thinking.json');
    const start = new ThinkingMemory(file);
    const worker = new ThinkingMemory(file);
    expect(worker.thinks('http://gpu:8000/v1', 'qwen3')).toBe(false);
    start.remember('http://gpu:8000/v1', 'qwen3');
    expect(worker.thinks('http://gpu:8000/v1', 'qwen3')).toBe(true);
    worker.remember('http://gpu:8000/v1', 'model');
    expect(start.thinks('http://gpu:8000/v1', 'qwen3')).toBe(true);
    expect(start.thinks('http://gpu:8000/v1', 'model')).toBe(true);
  });

  it('keys the memory by server without credentials, and survives a corrupt file', () => {
    const file = path.join(dir, 'llm-thinking.json');
    new ThinkingMemory(file).remember('http://user:s3cret@gpu:8000/v1/', 'qwen3');
    const body = fs.readFileSync(file, 'utf8');
    expect(body).not.toContain('s3cret');
    expect(new ThinkingMemory(file).thinks('http://gpu:8000/v1', 'qwen3')).toBe(true);
    expect(new ThinkingMemory(file).thinks('http://gpu:8000/v1', 'other')).toBe(false);
    fs.writeFileSync(file, '{not json');
    expect(new ThinkingMemory(file, logger).thinks('http://gpu:8000/v1', 'qwen3')).toBe(false);
  });
});
