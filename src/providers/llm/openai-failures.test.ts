import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../observability/logger.js';
import { collectChat, type ChatRequest, type LlmStreamEvent } from '../types.js';
import {
  CancelledError,
  MalformedOutputError,
  ProviderError,
  ProviderUnavailableError,
  StageTimeoutError,
} from '../../util/errors.js';
import { OpenAiLanguageModel, checkOpenAiServer, type OpenAiLanguageModelOptions } from './openai.js';
import {
  echoAnswer,
  startFakeOpenAiServer,
  type FakeOpenAiServer,
} from '../../../test/helpers/fake-openai-server.js';
import { chunk, errorBody, scenarios, streamOf } from '../../../test/helpers/fake-openai-scenarios.js';

const logger = createLogger('silent');
/**
 * Stall limits for tests where the server does answer: far longer than a loaded machine ever takes
 * between two chunks sent at once, so only a real stall (or a caller's slow handling) can reach them.
 */
const LIMIT_MS = 2000;
let server: FakeOpenAiServer;
/** A base URL where nothing listens: the port of a server that was just closed. */
let deadUrl: string;

beforeAll(async () => {
  server = await startFakeOpenAiServer({ models: ['fake-model'] });
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/v1`;
  await new Promise<void>((r) => probe.close(() => r()));
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

/** Drains a stream; returns what came out before it ended and the error it ended with, if any. */
async function drain(model: OpenAiLanguageModel, request: ChatRequest = hello) {
  const got: LlmStreamEvent[] = [];
  try {
    for await (const e of model.chatStream(request)) got.push(e);
    return { got, error: undefined };
  } catch (error) {
    return { got, error };
  }
}

describe('OpenAiLanguageModel: retries', () => {
  it('retries a 500 and then answers', async () => {
    server.enqueue(...scenarios.serverErrorThenSuccess());
    expect((await collectChat(makeModel().chatStream(hello))).text).toBe('Recovered.');
    expect(server.chatRequests()).toHaveLength(2);
  });

  it('waits as long as Retry-After says on a 429', async () => {
    server.enqueue(...scenarios.rateLimitedThenSuccess(1));
    const started = Date.now();
    expect((await collectChat(makeModel().chatStream(hello))).text).toBe('Finally.');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(server.chatRequests()).toHaveLength(2);
  });

  it('does not wait out a Retry-After longer than maxRetryDelayMs', async () => {
    server.enqueue(...scenarios.rateLimitedThenSuccess(120));
    const { error } = await drain(makeModel({ maxRetryDelayMs: 5000 }));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status: 429, code: 'llm_rate_limited', retryable: true });
    expect(server.chatRequests()).toHaveLength(1);
    expect(server.pending()).toBe(1);
  });

  it('gives up after the configured retries with the status and the server message', async () => {
    const fail = { status: 503, body: errorBody(503, 'model is loading', 'ServiceUnavailable') };
    server.enqueue(fail, fail, fail);
    const { error } = await drain(makeModel({ retries: 2 }));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).not.toBeInstanceOf(ProviderUnavailableError);
    expect(error).toMatchObject({ status: 503, code: 'llm_server_error' });
    expect((error as Error).message).toContain('model is loading');
    expect(server.chatRequests()).toHaveLength(3);
  });

  it('backs off exponentially between attempts', async () => {
    const fail = { status: 502, body: 'Bad Gateway' };
    server.enqueue(fail, fail, fail);
    const started = Date.now();
    const { error } = await drain(makeModel({ retries: 2, retryBaseDelayMs: 100 }));
    // Equal jitter: attempt n waits between half and all of 100·2ⁿ ms, so at least 50 + 100.
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    expect((error as Error).message).toContain('Bad Gateway');
  });

  it('reports an unreachable server as ProviderUnavailableError naming the URL', async () => {
    const { error } = await drain(makeModel({ baseUrl: deadUrl, retries: 2 }));
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect((error as Error).message).toContain(`${deadUrl}/chat/completions`);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect((error as ProviderUnavailableError).userMessage).toMatch(/not reachable/);
  });

  it('retries a connection dropped before any answer', async () => {
    server.enqueue({ hangUp: true }, { hangUp: true }, streamOf([{ content: 'Third time.' }]));
    expect((await collectChat(makeModel().chatStream(hello))).text).toBe('Third time.');
    expect(server.chatRequests()).toHaveLength(3);
  });

  it('retries a stream cut before anything was yielded', async () => {
    server.enqueue(scenarios.abruptClose(), streamOf([{ content: 'Whole answer.' }]));
    expect((await collectChat(makeModel().chatStream(hello))).text).toBe('Whole answer.');
    expect(server.chatRequests()).toHaveLength(2);
  });

  it('never retries once output was yielded, so nothing is repeated', async () => {
    server.enqueue(
      { stream: [{ data: chunk({ content: 'First part. ' }) }, { destroy: true, delayMs: 20 }] },
      streamOf([{ content: 'First part. Second part.' }]),
    );
    const { got, error } = await drain(makeModel({ thinking: 'never' }));
    expect(got).toEqual([{ type: 'text', text: 'First part.' }]);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'llm_stream_interrupted', retryable: true });
    expect(server.chatRequests()).toHaveLength(1);
    expect(server.pending()).toBe(1);
  });

  it('treats a body that ends without [DONE] or a finish reason as interrupted', async () => {
    const cut = { stream: [{ data: chunk({ content: 'Half' }) }], done: false };
    server.enqueue(cut, cut);
    const { error } = await drain(makeModel({ retries: 1 }));
    expect(error).toMatchObject({ code: 'llm_stream_interrupted' });
    expect(server.chatRequests()).toHaveLength(2);
  });

  it('fails a 400 at once with the server message (context too long)', async () => {
    server.enqueue(scenarios.contextLengthError());
    const { error } = await drain(makeModel());
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status: 400, code: 'llm_context_length', retryable: false });
    expect((error as Error).message).toContain("This model's maximum context length is 4096 tokens");
    expect((error as ProviderError).userMessage).toMatch(/too long/);
    expect(server.chatRequests()).toHaveLength(1);
  });

  it('fails a 401 at once with the server message', async () => {
    server.enqueue(scenarios.unauthorized());
    const { error } = await drain(makeModel());
    expect(error).toMatchObject({ status: 401, code: 'llm_unauthorized', retryable: false });
    expect((error as Error).message).toContain('Invalid API key provided');
    expect(server.chatRequests()).toHaveLength(1);
  });

  it('does not retry malformed output', async () => {
    server.enqueue(scenarios.malformedJson(), streamOf([{ content: 'unused' }]));
    expect((await drain(makeModel())).error).toBeInstanceOf(MalformedOutputError);
    expect(server.chatRequests()).toHaveLength(1);
  });
});

describe('OpenAiLanguageModel: stalls and cancellation', () => {
  it('times out when the first token does not come, without retrying', async () => {
    server.enqueue(scenarios.stallBeforeFirstToken());
    // The server never answers, so only the first-token limit can end this (there is no other).
    const { error } = await drain(makeModel({ firstTokenTimeoutMs: 150 }));
    expect(error).toBeInstanceOf(StageTimeoutError);
    expect((error as StageTimeoutError).stage).toBe('llm');
    expect((error as Error).message).toContain('after 150 ms');
    expect(server.chatRequests()).toHaveLength(1);
    await expect.poll(() => server.chatRequests()[0]?.clientClosed).toBe(true);
  });

  it('times out when chunks stop coming mid-stream', async () => {
    server.enqueue(scenarios.stallAfterFirstToken());
    // Long enough that a loaded machine never takes that long between the two chunks sent at once.
    const { got, error } = await drain(makeModel({ idleTimeoutMs: LIMIT_MS, thinking: 'never' }));
    expect(got).toEqual([{ type: 'text', text: 'Hello' }]);
    expect(error).toBeInstanceOf(StageTimeoutError);
    expect((error as Error).message).toContain(`after ${LIMIT_MS} ms`);
  });

  it('does not count the time the caller spends on each event as idle time', async () => {
    const model = makeModel({ idleTimeoutMs: LIMIT_MS, firstTokenTimeoutMs: LIMIT_MS, thinking: 'never' });
    let text = '';
    let events = 0;
    for await (const e of model.chatStream(hello)) {
      if (e.type === 'text') text += e.text;
      // On the first event (the first-token limit) and the second (the idle limit), the caller takes
      // longer than the limit. A timer started before handing out the event would expire first (timers
      // fire in order of their deadlines), so this does not depend on the machine's speed.
      if (events++ < 2) await new Promise((r) => setTimeout(r, LIMIT_MS + 500));
    }
    expect(events).toBeGreaterThan(2);
    expect(text).toBe(echoAnswer('Hello'));
  });

  it('aborts a stalled request promptly with CancelledError and closes the connection', async () => {
    server.enqueue(scenarios.stallAfterFirstToken());
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    // The server stalls forever and there is no time limit: only the abort can end this.
    const { error } = await drain(makeModel(), { ...hello, signal: controller.signal });
    expect(error).toBeInstanceOf(CancelledError);
    await expect.poll(() => server.chatRequests()[0]?.clientClosed).toBe(true);
  });

  it('aborts during the backoff between retries', async () => {
    server.enqueue({ status: 500, body: 'boom' }, streamOf([{ content: 'unused' }]));
    const controller = new AbortController();
    // Aborted once the model has said it is backing off (the backoff is at least 30 s).
    const logger = pino(
      { level: 'warn' },
      {
        write: (line: string) => {
          if (line.includes('retrying')) setImmediate(() => controller.abort());
        },
      },
    );
    const started = Date.now();
    const { error } = await drain(makeModel({ retryBaseDelayMs: 60_000, maxRetryDelayMs: 60_000, logger }), {
      ...hello,
      signal: controller.signal,
    });
    expect(error).toBeInstanceOf(CancelledError);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(server.chatRequests()).toHaveLength(1);
  });

  it('passes on the reason of a signal aborted with a StageTimeoutError (a caller-side time limit)', async () => {
    const controller = new AbortController();
    server.enqueue(scenarios.stallBeforeFirstToken());
    setTimeout(() => controller.abort(new StageTimeoutError('turn', 80)), 80);
    const second = await drain(makeModel(), { ...hello, signal: controller.signal });
    expect(second.error).toBeInstanceOf(StageTimeoutError);
    expect((second.error as StageTimeoutError).stage).toBe('turn');
  });

  it('releases the connection when the caller stops reading early', async () => {
    server.echo = { tokenDelayMs: 20 };
    for await (const e of makeModel({ thinking: 'never' }).chatStream(hello)) if (e.type === 'text') break;
    await expect.poll(() => server.chatRequests()[0]?.clientClosed).toBe(true);
  });

  it('close() cancels streams in flight', async () => {
    server.enqueue(scenarios.stallBeforeFirstToken());
    const model = makeModel();
    const pending = drain(model);
    await expect.poll(() => server.chatRequests().length).toBe(1);
    await model.close();
    expect((await pending).error).toBeInstanceOf(CancelledError);
  });
});

describe('OpenAiLanguageModel.load and checkOpenAiServer', () => {
  it('load() checks /models once it succeeds', async () => {
    const model = makeModel();
    await model.load();
    await model.load();
    expect(server.requests.filter((r) => r.path === '/v1/models')).toHaveLength(1);
  });

  it('load() tolerates a server without /models', async () => {
    server.enqueue({ path: '/v1/models', status: 404, body: { detail: 'Not Found' } });
    await expect(makeModel().load()).resolves.toBeUndefined();
  });

  it('load() fails on a refused connection, and tries again on the next call', async () => {
    const model = makeModel({ baseUrl: deadUrl });
    const error = await model.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect((error as Error).message).toContain(`${deadUrl}/models`);
    await expect(model.load()).rejects.toBeInstanceOf(ProviderUnavailableError);
  });

  it('load() reports a rejected key', async () => {
    server.enqueue({ path: '/v1/models', ...scenarios.unauthorized() });
    await expect(makeModel().load()).rejects.toMatchObject({ code: 'llm_unauthorized', status: 401 });
  });

  it('checkOpenAiServer lists the models, or says what is wrong', async () => {
    expect(await checkOpenAiServer(server.url)).toEqual({ ok: true, models: ['fake-model'] });
    server.enqueue({ path: '/v1/models', status: 404, body: {} });
    expect(await checkOpenAiServer(server.url)).toEqual({ ok: true });
    const down = await checkOpenAiServer(deadUrl, 'key');
    expect(down.ok).toBe(false);
    expect(down.error).toContain(deadUrl);
    server.enqueue({ path: '/v1/models', ...scenarios.unauthorized() });
    expect(await checkOpenAiServer(server.url, 'bad')).toMatchObject({
      ok: false,
      error: expect.stringContaining('Invalid API key'),
    });
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer bad');
  });
});
