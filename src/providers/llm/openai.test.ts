import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../observability/logger.js';
import { collectChat, type ChatRequest, type LlmStreamEvent } from '../types.js';
import { MalformedOutputError, ProviderError } from '../../util/errors.js';
import { OpenAiLanguageModel, type OpenAiLanguageModelOptions } from './openai.js';
import { describeLanguageModelBehaviour } from './llm.behaviour.js';
import {
  echoAnswer,
  echoReasoning,
  startFakeOpenAiServer,
  type FakeOpenAiServer,
} from '../../../test/helpers/fake-openai-server.js';
import { chunk, scenarios, streamOf } from '../../../test/helpers/fake-openai-scenarios.js';

const logger = createLogger('silent');

describeLanguageModelBehaviour('openai against an echoing vLLM-like server', async () => {
  const server = await startFakeOpenAiServer();
  return {
    model: new OpenAiLanguageModel({ baseUrl: server.url, model: 'june-test-model', logger }),
    cleanup: () => server.close(),
  };
});

describeLanguageModelBehaviour(
  'openai against a paced server with a Thinking model and reasoning_content',
  async () => {
    const server = await startFakeOpenAiServer({
      echo: { tokenDelayMs: 3 },
      models: ['Qwen/Qwen3-30B-A3B-Thinking-2507'],
    });
    return {
      model: new OpenAiLanguageModel({
        baseUrl: server.url,
        model: 'Qwen/Qwen3-30B-A3B-Thinking-2507',
        logger,
      }),
      cleanup: () => server.close(),
    };
  },
);

let server: FakeOpenAiServer;
beforeAll(async () => {
  server = await startFakeOpenAiServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  server.echo = {};
});

function makeModel(options: Partial<OpenAiLanguageModelOptions> = {}): OpenAiLanguageModel {
  return new OpenAiLanguageModel({
    baseUrl: server.url,
    model: 'fake-model',
    logger,
    retryBaseDelayMs: 1,
    ...options,
  });
}

const hello: ChatRequest = { messages: [{ role: 'user', content: 'Hello' }] };

async function events(model: OpenAiLanguageModel, request: ChatRequest = hello): Promise<LlmStreamEvent[]> {
  const out: LlmStreamEvent[] = [];
  for await (const e of model.chatStream(request)) out.push(e);
  return out;
}

async function* replay(evs: LlmStreamEvent[]): AsyncGenerator<LlmStreamEvent> {
  yield* evs;
}

describe('OpenAiLanguageModel: the request', () => {
  it('posts a streaming chat completion with usage, mapped messages, tools and sampling options', async () => {
    const model = makeModel({ apiKey: 'sk-test' });
    await collectChat(
      model.chatStream({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Weather in Oslo?' },
          {
            role: 'assistant',
            content: '',
            toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
          },
          { role: 'tool', toolCallId: 'c1', name: 'get_weather', content: '4 degrees' },
        ],
        tools: [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object' } }],
        temperature: 0.2,
        maxTokens: 99,
      }),
    );
    const [request] = server.chatRequests();
    expect(request?.headers.authorization).toBe('Bearer sk-test');
    expect(request?.headers.accept).toBe('text/event-stream');
    expect(request?.body).toEqual({
      model: 'fake-model',
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
      max_tokens: 99,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Oslo?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
          ],
        },
        { role: 'tool', content: '4 degrees', tool_call_id: 'c1', name: 'get_weather' },
      ],
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object' } },
        },
      ],
    });
  });

  it('sends no authorization header without a key, and tolerates a trailing slash in the base URL', async () => {
    await collectChat(makeModel({ baseUrl: `${server.url}/` }).chatStream(hello));
    const [request] = server.chatRequests();
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.body?.tools).toBeUndefined();
  });
});

describe('OpenAiLanguageModel: reading streams', () => {
  it('streams the echo answer with usage and finish reason', async () => {
    const result = await collectChat(makeModel().chatStream(hello));
    expect(result).toMatchObject({
      text: echoAnswer('Hello'),
      reasoning: '',
      finishReason: 'stop',
      toolCalls: [],
    });
    expect(result.usage?.completionTokens).toBeGreaterThan(5);
    expect(result.usage?.promptTokens).toBe(1);
  });

  it('streams a Thinking model served with a reasoning parser: reasoning_content, then the answer', async () => {
    server.echo = { tokenDelayMs: 5 };
    const model = makeModel({ model: 'Qwen/Qwen3-30B-A3B-Thinking-2507' });
    const evs = await events(model);
    const result = await collectChat(replay(evs));
    expect(result).toMatchObject({ reasoning: echoReasoning('Hello'), text: echoAnswer('Hello') });
    // The answer is not held back for a </think> that will never come: it streams token by token.
    expect(evs.filter((e) => e.type === 'text').length).toBeGreaterThan(5);
  });

  it('yields the first sentence while the server is still generating', async () => {
    // The server holds the rest of the answer after its first sentence until the client has yielded
    // text (or, if the client waited for the end, until a deadline): a matter of order, not speed.
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const deadline = setTimeout(release, 20_000);
    server.echo = { holdAfterFirstSentence: released };
    let serverDoneAtFirstText: boolean | undefined;
    let text = '';
    try {
      for await (const e of makeModel().chatStream(hello)) {
        if (e.type !== 'text') continue;
        serverDoneAtFirstText ??= server.chatRequests()[0]!.finished;
        release();
        text += e.text;
      }
    } finally {
      clearTimeout(deadline);
    }
    expect(serverDoneAtFirstText).toBe(false);
    expect(text).toBe(echoAnswer('Hello'));
  });

  it('keeps reasoning_content apart (vLLM, DeepSeek)', async () => {
    server.enqueue(scenarios.reasoningContent());
    const result = await collectChat(makeModel().chatStream(hello));
    expect(result).toEqual({
      reasoning: 'Greeting. Reply briefly.',
      text: 'Hi there! Nice day.',
      toolCalls: [],
      finishReason: 'stop',
      usage: { promptTokens: 20, completionTokens: 9 },
    });
  });

  it('keeps the reasoning field apart (newer vLLM, Ollama, OpenRouter)', async () => {
    server.enqueue(scenarios.reasoningField());
    expect(await collectChat(makeModel().chatStream(hello))).toMatchObject({
      reasoning: 'Think first.',
      text: 'Answer.',
    });
  });

  it('takes reasoning once when a server sends it in both fields', async () => {
    server.enqueue(streamOf([{ reasoning_content: 'Once.', reasoning: 'Once.' }, { content: 'Ok.' }]));
    expect(await collectChat(makeModel().chatStream(hello))).toMatchObject({
      reasoning: 'Once.',
      text: 'Ok.',
    });
  });

  it('separates inline <think> tags split across chunks', async () => {
    server.enqueue(scenarios.inlineThink());
    expect(await collectChat(makeModel().chatStream(hello))).toMatchObject({
      reasoning: 'Let me see.',
      text: "It is four o'clock.",
    });
  });

  it('separates Qwen3-Thinking-2507 output that only closes the thought (auto, by model name)', async () => {
    server.enqueue(scenarios.qwenThinkingCloseOnly());
    const result = await collectChat(
      makeModel({ model: 'Qwen/Qwen3-30B-A3B-Thinking-2507' }).chatStream(hello),
    );
    expect(result).toMatchObject({
      reasoning: 'Okay, the user wants a joke. Keep it short.',
      text: 'Why did the chicken cross the road?',
    });
  });

  it('separates it for any model name with thinking: always-open', async () => {
    server.enqueue(scenarios.qwenThinkingCloseOnly());
    const result = await collectChat(makeModel({ model: 'qwen', thinking: 'always-open' }).chatStream(hello));
    expect(result.text).toBe('Why did the chicken cross the road?');
  });

  it('assembles native tool calls from argument pieces and emits them whole', async () => {
    server.enqueue(scenarios.toolCallDeltas());
    const evs = await events(makeModel());
    const calls = evs
      .filter((e) => e.type === 'tool_call')
      .map((e) => (e.type === 'tool_call' ? e.call : undefined));
    expect(calls).toEqual([
      { id: 'call_w1', name: 'get_weather', arguments: '{"city": "Paris", "unit": "celsius"}' },
      { id: 'call_t2', name: 'get_time', arguments: '{"tz": "Europe/Paris"}' },
    ]);
    expect(calls.map((c) => JSON.parse(c?.arguments ?? '') as unknown)).toEqual([
      { city: 'Paris', unit: 'celsius' },
      { tz: 'Europe/Paris' },
    ]);
    expect(evs.at(-1)).toMatchObject({ type: 'done', finishReason: 'tool_calls' });
  });

  it('turns Hermes <tool_call> tags into tool calls and removes them from the text', async () => {
    server.enqueue(scenarios.hermesToolCalls());
    const result = await collectChat(makeModel().chatStream(hello));
    expect(result.text).toBe('Checking.');
    expect(result.toolCalls.map(({ name, arguments: a }) => ({ name, a }))).toEqual([
      { name: 'get_weather', a: '{"city":"Oslo"}' },
      { name: 'set_timer', a: '{"minutes":5}' },
    ]);
    expect(result.finishReason).toBe('tool_calls');
  });

  it('fails with MalformedOutputError on a Hermes block with broken JSON', async () => {
    server.enqueue(scenarios.hermesMalformed());
    await expect(events(makeModel())).rejects.toBeInstanceOf(MalformedOutputError);
    expect(server.chatRequests()).toHaveLength(1);
  });

  it('reads keep-alive comments, CRLF framing, events split mid-line and multi-line data', async () => {
    const a = JSON.stringify(chunk({ content: 'Split ' }));
    server.enqueue({
      stream: [
        { raw: ': keep-alive\r\n\r\n' },
        { raw: `data: ${a.slice(0, 20)}`, delayMs: 5 },
        { raw: `${a.slice(20)}\r`, delayMs: 5 },
        { raw: '\n\r\n', delayMs: 5 },
        {
          raw: 'data: {"choices":[{"index":0,\ndata: "delta":{"content":"fine."},"finish_reason":"stop"}]}\n\n',
        },
      ],
    });
    expect((await collectChat(makeModel({ thinking: 'never' }).chatStream(hello))).text).toBe('Split fine.');
  });

  it('accepts a non-streamed JSON completion from a server that ignores stream: true', async () => {
    server.enqueue({
      status: 200,
      body: {
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: '<think>hmm</think>Sure.',
              tool_calls: [{ id: 'x', type: 'function', function: { name: 'f', arguments: '{}' } }],
            },
            finish_reason: 'tool_calls',
          },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 4 },
      },
    });
    expect(await collectChat(makeModel().chatStream(hello))).toEqual({
      reasoning: 'hmm',
      text: 'Sure.',
      toolCalls: [{ id: 'x', name: 'f', arguments: '{}' }],
      finishReason: 'tool_calls',
      usage: { promptTokens: 3, completionTokens: 4 },
    });
  });

  it('fails with MalformedOutputError on a data line that is not JSON, without retrying', async () => {
    server.enqueue(scenarios.malformedJson());
    const err = await events(makeModel()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedOutputError);
    expect((err as Error).message).toContain('not valid JSON');
    expect(server.chatRequests()).toHaveLength(1);
  });

  it('reports an error object sent in the middle of the stream', async () => {
    server.enqueue({
      stream: [
        { data: chunk({ content: 'Hi. ' }) },
        { data: { object: 'error', message: 'engine died', code: 500 } },
      ],
    });
    const got: LlmStreamEvent[] = [];
    const err = await (async () => {
      for await (const e of makeModel({ thinking: 'never' }).chatStream(hello)) got.push(e);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe('llm_stream_error');
    expect((err as Error).message).toContain('engine died');
    expect(got).toEqual([{ type: 'text', text: 'Hi.' }]);
    expect(server.chatRequests()).toHaveLength(1);
  });
});
