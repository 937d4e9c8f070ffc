import { afterEach, describe, expect, it } from 'vitest';
import {
  echoAnswer,
  echoReasoning,
  startFakeOpenAiServer,
  type FakeOpenAiServer,
} from './fake-openai-server.js';
import { scenarios } from './fake-openai-scenarios.js';

let server: FakeOpenAiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function post(url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

/** The JSON payloads of an SSE body, parsed here by hand so this test does not depend on June's parser. */
async function dataLines(res: Response): Promise<unknown[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice(6))
    .map((data) => (data === '[DONE]' ? data : (JSON.parse(data) as unknown)));
}

interface Chunk {
  choices: { delta: Record<string, string>; finish_reason: string | null }[];
  usage?: { completion_tokens: number };
}

describe('fake OpenAI server', () => {
  it('listens on 127.0.0.1 with a /v1 base URL and lists its models', async () => {
    server = await startFakeOpenAiServer({ models: ['a', 'b'] });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const res = await fetch(`${server.url}/models`);
    expect(await res.json()).toMatchObject({ object: 'list', data: [{ id: 'a' }, { id: 'b' }] });
  });

  it('echoes the last user message word by word as SSE, with finish, usage and [DONE]', async () => {
    server = await startFakeOpenAiServer();
    const res = await post(server.url, {
      model: 'm',
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: 'Turn on the lights.' },
      ],
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const lines = await dataLines(res);
    expect(lines.at(-1)).toBe('[DONE]');
    const chunks = lines.slice(0, -1) as Chunk[];
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('You said: Turn on the lights. That is a fine thing to say. Is there anything else?');
    expect(text).toBe(echoAnswer('Turn on the lights.'));
    const words = chunks.filter((c) => c.choices[0]?.delta.content);
    expect(words.length).toBe(text.split(' ').length);
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: words.length } });
  });

  it('streams reasoning_content first for a Thinking model name, or when asked', async () => {
    server = await startFakeOpenAiServer();
    const body = {
      model: 'Qwen3-4B-Thinking-2507',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    };
    const chunks = (await dataLines(await post(server.url, body))).slice(0, -1) as Chunk[];
    const reasoning = chunks.map((c) => c.choices[0]?.delta.reasoning_content ?? '').join('');
    expect(reasoning).toBe(echoReasoning('hi'));
    const firstContent = chunks.findIndex((c) => c.choices[0]?.delta.content);
    const lastReasoning = chunks.findLastIndex((c) => c.choices[0]?.delta.reasoning_content);
    expect(lastReasoning).toBeLessThan(firstContent);

    server.echo = { reasoning: 'Pondering.', reasoningField: 'reasoning' };
    const plain = (await dataLines(await post(server.url, { ...body, model: 'plain' }))).slice(
      0,
      -1,
    ) as Chunk[];
    expect(plain.map((c) => c.choices[0]?.delta.reasoning ?? '').join('')).toBe('Pondering.');
  });

  it('paces echo tokens with tokenDelayMs', async () => {
    server = await startFakeOpenAiServer({ echo: { tokenDelayMs: 15 } });
    const started = Date.now();
    await (await post(server.url, { stream: true, messages: [{ role: 'user', content: 'x' }] })).text();
    // 14 tokens → 13 gaps of 15 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(13 * 15 - 5);
  });

  it('holds the echo answer after its first sentence until holdAfterFirstSentence settles', async () => {
    let release = () => {};
    server = await startFakeOpenAiServer({
      echo: { holdAfterFirstSentence: new Promise<void>((r) => (release = r)) },
    });
    const res = await post(server.url, { stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let received = '';
    const content = () => [...received.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('');
    // Everything up to the first token after the sentence end arrives; then nothing until released.
    while (!content().includes('You said: hi. That')) {
      const { value, done } = await reader.read();
      expect(done).toBe(false);
      received += decoder.decode(value, { stream: true });
    }
    expect(content()).toBe('You said: hi. That');
    expect(server.chatRequests()[0]!.finished).toBe(false);
    release();
    for (let r = await reader.read(); !r.done; r = await reader.read()) received += decoder.decode(r.value);
    expect(content()).toBe(echoAnswer('hi'));
    expect(received).toContain('[DONE]');
    expect(server.chatRequests()[0]!.finished).toBe(true);
  });

  it('answers a non-streaming request with one chat.completion', async () => {
    server = await startFakeOpenAiServer();
    const res = await post(server.url, { model: 'm', messages: [{ role: 'user', content: 'hello' }] });
    expect(await res.json()).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { role: 'assistant', content: echoAnswer('hello') }, finish_reason: 'stop' }],
    });
  });

  it('records every request with its parsed body and headers', async () => {
    server = await startFakeOpenAiServer();
    await (
      await post(server.url, { model: 'm', messages: [{ role: 'user', content: 'q' }], tools: [] })
    ).text();
    await (await fetch(`${server.url}/models`)).text();
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/chat/completions',
      'GET /v1/models',
    ]);
    expect(server.chatRequests()[0]?.body).toMatchObject({
      model: 'm',
      messages: [{ role: 'user', content: 'q' }],
    });
    expect(server.chatRequests()[0]?.headers['content-type']).toBe('application/json');
  });

  it('plays queued responses in order, per path, then falls back to echo', async () => {
    server = await startFakeOpenAiServer();
    server.enqueue(...scenarios.serverErrorThenSuccess(), { path: '/v1/models', status: 404, body: {} });
    expect(server.pending()).toBe(3);
    expect(server.pending('/v1/models')).toBe(1);
    expect((await fetch(`${server.url}/models`)).status).toBe(404);
    const first = await post(server.url, { messages: [] });
    expect(first.status).toBe(500);
    expect(await first.json()).toMatchObject({ message: expect.stringContaining('CUDA error') });
    const second = (await dataLines(await post(server.url, { messages: [] }))).slice(0, -1) as Chunk[];
    expect(second.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Recovered.');
    expect(server.pending()).toBe(0);
    expect(await (await post(server.url, { messages: [{ role: 'user', content: 'z' }] })).text()).toContain(
      'You said',
    );
  });

  it('forgets queued responses and recorded requests on reset()', async () => {
    server = await startFakeOpenAiServer();
    server.enqueue(scenarios.unauthorized());
    await (await fetch(`${server.url}/models`)).text();
    server.reset();
    expect(server.pending()).toBe(0);
    expect(server.requests).toEqual([]);
    expect((await post(server.url, { messages: [] })).status).toBe(200);
  });

  it('sends scripted headers such as Retry-After', async () => {
    server = await startFakeOpenAiServer();
    server.enqueue(...scenarios.rateLimitedThenSuccess(7));
    const res = await post(server.url, { messages: [] });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
  });

  it('writes raw lines verbatim', async () => {
    server = await startFakeOpenAiServer();
    server.enqueue({ stream: [{ raw: ': keep-alive\r\n\r\n' }, { raw: 'data: {broken\n\n' }], done: false });
    expect(await (await post(server.url, {})).text()).toBe(': keep-alive\r\n\r\ndata: {broken\n\n');
  });

  it('hangs up without answering, and cuts a stream abruptly', async () => {
    server = await startFakeOpenAiServer();
    server.enqueue({ hangUp: true }, scenarios.abruptClose());
    await expect(post(server.url, {})).rejects.toThrow(TypeError);
    const res = await post(server.url, {});
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it('keeps a stalled stream open until the client leaves, and records that it left', async () => {
    server = await startFakeOpenAiServer();
    server.enqueue(scenarios.stallAfterFirstToken());
    const controller = new AbortController();
    const res = await post(server.url, {}, controller.signal);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('chat.completion.chunk');
    const next = reader.read();
    const outcome = await Promise.race([
      next.then(() => 'data'),
      new Promise((r) => setTimeout(() => r('stalled'), 100)),
    ]);
    expect(outcome).toBe('stalled');
    controller.abort();
    await next.catch(() => undefined);
    await expect.poll(() => server?.requests[0]?.clientClosed).toBe(true);
  });

  it('serves extra routes from options and route()', async () => {
    server = await startFakeOpenAiServer({
      routes: {
        '/v1/audio/speech': (_req, res, { body }) => {
          res.writeHead(200, { 'content-type': 'audio/wav' });
          res.end(Buffer.concat([Buffer.from('RIFF'), body]));
        },
      },
    });
    server.route('/v1/audio/transcriptions', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"text":"hello"}');
    });
    const speech = await fetch(`${server.url}/audio/speech`, { method: 'POST', body: 'abc' });
    expect(Buffer.from(await speech.arrayBuffer()).toString()).toBe('RIFFabc');
    const stt = await fetch(`${server.url}/audio/transcriptions?x=1`, { method: 'POST', body: 'wav' });
    expect(await stt.json()).toEqual({ text: 'hello' });
    expect(server.requests.map((r) => r.path)).toEqual(['/v1/audio/speech', '/v1/audio/transcriptions']);
  });

  it('answers unknown paths with an OpenAI-style 404', async () => {
    server = await startFakeOpenAiServer();
    const res = await fetch(`${server.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ object: 'error', code: 404 });
  });

  it('closes even while a client is stalled on it', async () => {
    server = await startFakeOpenAiServer();
    server.enqueue(scenarios.stallBeforeFirstToken());
    const res = await post(server.url, {});
    const body = res.text();
    await server.close();
    server = undefined;
    await expect(body).rejects.toThrow();
  });
});
