/**
 * HTTP side of the OpenAI-compatible provider: the request body, turning failed responses into June
 * errors, Retry-After, and the /models reachability check used by `load()` and `june doctor`.
 */
import type { ChatMessage, ChatRequest, ToolDefinition } from '../types.js';
import { ProviderError, ProviderUnavailableError } from '../../util/errors.js';
import { abortReason, stageSignal } from '../../util/abort.js';
import { errorMessage, isRecord } from './openai-stream.js';

export const PROVIDER = 'openai-llm';

/** A non-2xx answer. Still a ProviderError; carries the server's Retry-After for the retry loop. */
export class LlmHttpError extends ProviderError {
  readonly retryAfterMs: number | undefined;
  constructor(
    status: number,
    message: string,
    code: string,
    userMessage: string | undefined,
    retryAfterMs?: number,
  ) {
    super(PROVIDER, message, {
      code,
      status,
      retryable: status === 429 || status >= 500,
      ...(userMessage ? { userMessage } : {}),
    });
    this.retryAfterMs = retryAfterMs;
  }
}

export function chatRequestBody(model: string, request: ChatRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model,
    messages: request.messages.map(toOpenAiMessage),
    stream: true,
    stream_options: { include_usage: true },
  };
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (request.tools && request.tools.length > 0) body.tools = request.tools.map(toOpenAiTool);
  return body;
}

function toOpenAiMessage(m: ChatMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role, content: m.content };
  if (m.name !== undefined) out.name = m.name;
  if (m.role === 'tool' && m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
  if (m.toolCalls && m.toolCalls.length > 0) {
    out.tool_calls = m.toolCalls.map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.name, arguments: c.arguments },
    }));
  }
  return out;
}

function toOpenAiTool(t: ToolDefinition): Record<string, unknown> {
  return {
    type: 'function',
    function: { name: t.name, description: t.description, parameters: t.parameters },
  };
}

export function authHeaders(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

/** Reads a failed response into an LlmHttpError carrying the server's own message. */
export async function httpError(response: Response, url: string): Promise<LlmHttpError> {
  const raw = await response.text().catch(() => '');
  let body: unknown = raw;
  try {
    body = JSON.parse(raw);
  } catch {
    // Not JSON (a proxy's HTML page, plain text): the raw text is the message.
  }
  const serverMessage = (errorMessage(body) ?? raw.slice(0, 300)) || response.statusText;
  const status = response.status;
  const message = `HTTP ${status} from ${url}: ${serverMessage}`;
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  if (
    status === 400 &&
    /context length|context window|maximum context|too many tokens|context_length/i.test(raw)
  ) {
    return new LlmHttpError(
      status,
      message,
      'llm_context_length',
      'This conversation is too long for my language model. Please start a new one.',
    );
  }
  if (status === 401 || status === 403) {
    return new LlmHttpError(
      status,
      message,
      'llm_unauthorized',
      'My language model server refused my credentials.',
    );
  }
  if (status === 404) return new LlmHttpError(status, message, 'llm_not_found', undefined);
  if (status === 429) {
    return new LlmHttpError(
      status,
      message,
      'llm_rate_limited',
      'My language model server is busy right now. Please try again in a moment.',
      retryAfterMs,
    );
  }
  if (status >= 500) return new LlmHttpError(status, message, 'llm_server_error', undefined, retryAfterMs);
  return new LlmHttpError(status, message, 'llm_bad_request', undefined);
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** A fetch that failed before any response: the server is unreachable (refused, DNS, reset). */
export function connectionError(err: unknown, url: string): ProviderUnavailableError {
  // undici wraps the socket error ("connect ECONNREFUSED 127.0.0.1:8000") in a generic "fetch failed".
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return new ProviderUnavailableError(PROVIDER, url, cause);
}

export function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${path}`;
}

/**
 * GET {baseUrl}/models. Resolves with the model ids, or undefined when the server has no such endpoint
 * (404: reachable, just not listing). Throws ProviderUnavailableError when unreachable.
 */
export async function fetchModelIds(
  baseUrl: string,
  apiKey: string | undefined,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<string[] | undefined> {
  const url = joinUrl(baseUrl, 'models');
  const stage = stageSignal('llm', options.timeoutMs ?? 5000, options.signal);
  try {
    let response: Response;
    try {
      response = await fetch(url, { headers: authHeaders(apiKey), signal: stage.signal });
    } catch (err) {
      if (stage.signal.aborted) throw abortReason(stage.signal);
      throw connectionError(err, url);
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) throw await httpError(response, url);
    const body: unknown = await response.json().catch(() => undefined);
    const data = isRecord(body) && Array.isArray(body.data) ? body.data : [];
    return data.flatMap((m) => (isRecord(m) && typeof m.id === 'string' ? [m.id] : []));
  } catch (err) {
    if (stage.signal.aborted) throw abortReason(stage.signal);
    throw err;
  } finally {
    stage.dispose();
  }
}

/** For `june doctor`: is the server there, and which models does it serve? Never throws. */
export async function checkOpenAiServer(
  baseUrl: string,
  apiKey?: string,
  signal?: AbortSignal,
): Promise<{ ok: boolean; models?: string[]; error?: string }> {
  try {
    const models = await fetchModelIds(baseUrl, apiKey, signal ? { signal } : {});
    return models ? { ok: true, models } : { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
