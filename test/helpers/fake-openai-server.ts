/**
 * A real local HTTP server speaking the OpenAI chat completions protocol, for tests and benchmarks.
 *
 * - Scripted mode: `enqueue()` queues responses per path; each request takes the next one. A response can
 *   stream SSE steps with delays, stall, cut the socket, send raw malformed lines, or answer with a status
 *   and JSON body (see fake-openai-scenarios.ts for realistic vLLM streams).
 * - Echo mode (whenever nothing is queued): a deterministic multi-sentence answer built from the last user
 *   message, streamed word by word like vLLM, optionally preceded by `reasoning_content` (a request whose
 *   system prompt asks for a "short title" gets the message's first words as one, see echoTitle).
 * - GET /v1/models lists `models`.
 * - `routes` (or `route()`) adds handlers for other paths, e.g. /v1/audio/speech in another helper.
 * Every request is recorded with its parsed JSON body so tests can check what was sent.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StreamStep =
  /** One event: `data: <JSON>\n\n` (a string is sent verbatim, e.g. "[DONE]"). */
  | { data: unknown; delayMs?: number }
  /** Bytes written as they are: comments, CRLF framing, malformed lines, events split mid-line. */
  | { raw: string; delayMs?: number }
  /** Stop sending and keep the connection open until the client gives up. */
  | { stall: true; delayMs?: number }
  /** Send nothing until `hold` settles (the test says when), or the client goes away. */
  | { hold: Promise<unknown>; delayMs?: number }
  /** Close the socket abruptly, without ending the chunked body. */
  | { destroy: true; delayMs?: number };

export interface ScriptedResponse {
  /** The path this answers; default '/v1/chat/completions'. */
  path?: string;
  /** Default 200. */
  status?: number;
  headers?: Record<string, string>;
  /** Wait before sending the status line (prompt processing). */
  delayMs?: number;
  /** A JSON body: a non-streamed completion or an error object. */
  body?: unknown;
  /** SSE steps; makes this a text/event-stream response. */
  stream?: StreamStep[];
  /** Send `data: [DONE]` after the steps. Default true. */
  done?: boolean;
  /** Destroy the connection without answering (the client sees a network error). */
  hangUp?: boolean;
}

/** The JSON body of a chat completion request, as far as the tests look into it. */
export interface RecordedBody {
  model?: string;
  messages?: { role: string; content: unknown; tool_calls?: unknown; tool_call_id?: string; name?: string }[];
  tools?: { type: string; function: { name: string; description?: string; parameters?: unknown } }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  temperature?: number;
  max_tokens?: number;
  [key: string]: unknown;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; undefined when the body is empty or not JSON. */
  body: RecordedBody | undefined;
  rawBody: Buffer;
  /** True once the client closed the connection before the response was complete. */
  clientClosed: boolean;
  /** True once the whole response was handed to the connection. */
  finished: boolean;
}

export interface EchoOptions {
  /** Delay between streamed tokens. Default 0. */
  tokenDelayMs?: number;
  /** Delay before the first chunk (prompt processing). Default 0. */
  firstTokenDelayMs?: number;
  /**
   * Stream reasoning first, as vLLM with a reasoning parser does. 'auto' (default): only when the requested
   * model name matches /thinking/i. A string is used as the reasoning text.
   */
  reasoning?: boolean | 'auto' | string;
  /** The field carrying it. Default 'reasoning_content'. */
  reasoningField?: 'reasoning_content' | 'reasoning';
  /**
   * Holds the answer after its first sentence (once the next token is sent, so a segmenter can see the
   * boundary) until this settles or the client goes away. A test releases it when the client has shown
   * what it does mid-stream (e.g. spoken that sentence), so the order of events does not depend on speed.
   */
  holdAfterFirstSentence?: Promise<unknown>;
}

export type RouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: { body: Buffer; record: RecordedRequest; server: FakeOpenAiServer },
) => void | Promise<void>;

export interface FakeOpenAiServerOptions {
  /** Model names listed by /v1/models. Default ['june-test-model']. */
  models?: string[];
  echo?: EchoOptions;
  /** Extra routes by exact path (no query), e.g. { '/v1/audio/speech': handler }. */
  routes?: Record<string, RouteHandler>;
  /** Listen on this port (a server restarted at the same address); default: any free port. */
  port?: number;
}

export interface FakeOpenAiServer {
  /** Base URL for clients, ending with /v1. */
  url: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  requests: RecordedRequest[];
  /** The recorded POSTs to /v1/chat/completions. */
  chatRequests(): RecordedRequest[];
  /** Queues responses; each goes to the path it names (default chat completions). */
  enqueue(...responses: ScriptedResponse[]): void;
  /**
   * Queues responses taken only by requests whose parsed JSON body matches, before the plain queue (for
   * concurrent callers, e.g. a planner's request beside a chat turn's); each is used once.
   */
  enqueueWhen(match: (body: RecordedBody) => boolean, ...responses: ScriptedResponse[]): void;
  /** Queued responses not yet used (for `path`, or all). */
  pending(path?: string): number;
  /** Forgets queued responses and recorded requests (between tests sharing one server). */
  reset(): void;
  /** Echo-mode settings; change them between requests as needed. */
  echo: EchoOptions;
  route(path: string, handler: RouteHandler): void;
  close(): Promise<void>;
}

export const CHAT_PATH = '/v1/chat/completions';

/** The echo answer for a user message: deterministic, several sentences. */
export function echoAnswer(userText: string): string {
  const said = userText.trim().replace(/[.!?]+$/, '');
  return `You said: ${said || 'nothing'}. That is a fine thing to say. Is there anything else?`;
}

/**
 * The echo answer when the system prompt asks for a conversation title (as June does after a chat's
 * first answer): the first words of the user message, capitalised and quoted, as a model might write it.
 */
export function echoTitle(userText: string): string {
  const words = userText.trim().split(/\s+/).slice(0, 5).join(' ');
  return `“${words.charAt(0).toUpperCase()}${words.slice(1)}”`;
}

/** The reasoning the echo mode streams before its answer. */
export function echoReasoning(userText: string): string {
  return `The user said "${userText.trim()}". I will repeat it back politely.`;
}

export async function startFakeOpenAiServer(
  options: FakeOpenAiServerOptions = {},
): Promise<FakeOpenAiServer> {
  const queues = new Map<string, ScriptedResponse[]>();
  const routes = new Map<string, RouteHandler>(Object.entries(options.routes ?? {}));
  const matched: { match: (body: RecordedBody) => boolean; response: ScriptedResponse }[] = [];
  const models = options.models ?? ['june-test-model'];
  let completionCounter = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rawBody = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body: parseJsonBody(rawBody),
      rawBody,
      clientClosed: false,
      finished: false,
    };
    fake.requests.push(record);
    res.on('finish', () => (record.finished = true));
    res.on('close', () => {
      if (!res.writableFinished) record.clientClosed = true;
    });

    const when = matched.findIndex(
      (m) => (m.response.path ?? CHAT_PATH) === path && record.body !== undefined && m.match(record.body),
    );
    if (when >= 0) return playScripted(matched.splice(when, 1)[0]!.response, req, res);
    const scripted = queues.get(path)?.shift();
    if (scripted) return playScripted(scripted, req, res);
    const custom = routes.get(path);
    if (custom) return custom(req, res, { body: rawBody, record, server: fake });
    if (path === '/v1/models' && req.method === 'GET') {
      return sendJson(res, 200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', owned_by: 'fake' })),
      });
    }
    if (path === CHAT_PATH && req.method === 'POST') {
      return playEcho(record.body ?? {}, fake.echo, res, `chatcmpl-echo-${++completionCounter}`);
    }
    sendJson(res, 404, {
      object: 'error',
      message: `no route for ${req.method} ${path}`,
      type: 'NotFoundError',
      code: 404,
    });
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A broken test script must show up as a failed request, not a hung one.
      if (!res.headersSent) sendJson(res, 500, { object: 'error', message: String(err), code: 500 });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  const fake: FakeOpenAiServer = {
    url: `${origin}/v1`,
    origin,
    requests: [],
    chatRequests: () => fake.requests.filter((r) => r.path === CHAT_PATH),
    enqueue: (...responses) => {
      for (const r of responses) {
        const path = r.path ?? CHAT_PATH;
        const queue = queues.get(path) ?? [];
        queue.push(r);
        queues.set(path, queue);
      }
    },
    enqueueWhen: (match, ...responses) => {
      for (const response of responses) matched.push({ match, response });
    },
    pending: (path) =>
      path === undefined
        ? [...queues.values()].reduce((n, q) => n + q.length, 0)
        : (queues.get(path)?.length ?? 0),
    reset: () => {
      queues.clear();
      matched.length = 0;
      fake.requests.length = 0;
    },
    echo: { ...options.echo },
    route: (path, handler) => void routes.set(path, handler),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}

/** Short alias: `const server = await start()`. */
export const start = startFakeOpenAiServer;

async function playScripted(
  script: ScriptedResponse,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (script.delayMs) await wait(script.delayMs, res);
  if (script.hangUp) {
    req.socket.destroy();
    return;
  }
  const status = script.status ?? 200;
  if (!script.stream) {
    sendJson(res, status, script.body ?? {}, script.headers);
    return;
  }
  res.writeHead(status, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    ...script.headers,
  });
  res.flushHeaders();
  for (const step of script.stream) {
    if (step.delayMs) await wait(step.delayMs, res);
    if (res.destroyed) return;
    if ('stall' in step) {
      await new Promise<void>((resolve) => res.once('close', () => resolve()));
      return;
    }
    if ('destroy' in step) {
      res.socket?.destroy();
      return;
    }
    if ('hold' in step) {
      await Promise.race([step.hold, closed(res)]);
      if (res.destroyed) return;
      continue;
    }
    res.write('raw' in step ? step.raw : sseEvent(step.data));
  }
  if (script.done ?? true) res.write(sseEvent('[DONE]'));
  res.end();
}

async function playEcho(
  body: RecordedBody,
  echo: EchoOptions,
  res: ServerResponse,
  id: string,
): Promise<void> {
  const messages = body.messages ?? [];
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const userText = typeof lastUser?.content === 'string' ? lastUser.content : '';
  const model = body.model ?? 'june-test-model';
  const system = messages.find((m) => m.role === 'system');
  const wantsTitle = typeof system?.content === 'string' && /short title/i.test(system.content);
  const answer = wantsTitle ? echoTitle(userText) : echoAnswer(userText);
  const wantReasoning =
    echo.reasoning === 'auto' || echo.reasoning === undefined
      ? /thinking/i.test(model)
      : echo.reasoning !== false;
  const reasoning = wantReasoning
    ? typeof echo.reasoning === 'string'
      ? echo.reasoning
      : echoReasoning(userText)
    : '';
  const field = echo.reasoningField ?? 'reasoning_content';
  const promptTokens = messages.reduce(
    (n, m) => n + wordsOf(typeof m.content === 'string' ? m.content : '').length,
    0,
  );
  const reasoningTokens = reasoning ? wordsOf(reasoning) : [];
  const answerTokens = wordsOf(answer);
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: reasoningTokens.length + answerTokens.length,
    total_tokens: promptTokens + reasoningTokens.length + answerTokens.length,
  };
  const base = { id, created: Math.floor(Date.now() / 1000), model };

  if (echo.firstTokenDelayMs) await wait(echo.firstTokenDelayMs, res);
  if (body.stream !== true) {
    const message: Record<string, unknown> = { role: 'assistant', content: answer };
    if (reasoning) message[field] = reasoning;
    sendJson(res, 200, {
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message, logprobs: null, finish_reason: 'stop' }],
      usage,
    });
    return;
  }
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    ...base,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(sseEvent(chunk({ role: 'assistant', content: '' })));
  const tokens: Record<string, unknown>[] = [
    ...reasoningTokens.map((t) => ({ [field]: t })),
    ...answerTokens.map((t) => ({ content: t })),
  ];
  let answerSoFar = '';
  let hold = echo.holdAfterFirstSentence;
  for (const [i, delta] of tokens.entries()) {
    if (i > 0 && echo.tokenDelayMs) await wait(echo.tokenDelayMs, res);
    if (res.destroyed) return;
    res.write(sseEvent(chunk(delta)));
    if (typeof delta.content === 'string') answerSoFar += delta.content;
    if (hold && /[.!?]\s+\S/.test(answerSoFar)) {
      await Promise.race([hold, closed(res)]);
      hold = undefined;
      if (res.destroyed) return;
    }
  }
  res.write(sseEvent(chunk({ content: '' }, 'stop')));
  if (body.stream_options?.include_usage)
    res.write(sseEvent({ ...base, object: 'chat.completion.chunk', choices: [], usage }));
  res.write(sseEvent('[DONE]'));
  res.end();
}

/** "You said: hi." → ["You", " said:", " hi."]: the way BPE tokenizers attach the leading space. */
function wordsOf(text: string): string[] {
  return text.split(/(?=\s)/).filter((t) => t !== '');
}

function sseEvent(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseJsonBody(raw: Buffer): RecordedBody | undefined {
  if (raw.length === 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as RecordedBody) : undefined;
  } catch {
    return undefined;
  }
}

/** Settles when the connection closes. */
function closed(res: ServerResponse): Promise<void> {
  return res.destroyed ? Promise.resolve() : new Promise((resolve) => res.once('close', () => resolve()));
}

/** Waits `ms`, cut short when the client goes away (there is nobody left to answer). */
function wait(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.once('close', done);
  });
}
