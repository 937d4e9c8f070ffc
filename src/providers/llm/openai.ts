/**
 * LanguageModel for any OpenAI-compatible chat completions server (vLLM, llama.cpp server, Ollama,
 * LM Studio, OpenRouter, OpenAI itself). Always streams, so the first sentence can be spoken while the rest
 * is still being generated.
 *
 * Failure policy:
 *  - Connection errors, 5xx, 429 and a stream cut off early are retried with exponential backoff and jitter
 *    (Retry-After is honoured; one longer than `maxRetryDelayMs` is not waited for), but only until the
 *    first event has been yielded: after that a retry would repeat output the caller already has.
 *  - When the retries run out: ProviderUnavailableError (nothing answered; names the URL) or a ProviderError
 *    with the HTTP status. Other 4xx (context too long, bad key) fail at once with the server's message.
 *  - A `data:` line that is not JSON fails the reply with MalformedOutputError rather than being skipped:
 *    skipping could silently drop a word of the answer or a piece of a tool call's arguments.
 *  - `firstTokenTimeoutMs` bounds the wait for the first data chunk (prompt processing included) and
 *    `idleTimeoutMs` the gap between chunks; either throws StageTimeoutError('llm'). Not retried: the caller's
 *    time budget is already spent. `request.signal` aborts the HTTP request and throws CancelledError.
 */
import type { Logger } from '../../observability/logger.js';
import { getLogger } from '../../observability/logger.js';
import type { ChatRequest, LanguageModel, LlmStreamEvent } from '../types.js';
import { CancelledError, MalformedOutputError, ProviderError, StageTimeoutError } from '../../util/errors.js';
import { abortReason, sleep } from '../../util/abort.js';
import { readSseStream } from './sse.js';
import { OpenAiStreamDecoder } from './openai-stream.js';
import type { ThinkingMode } from './think-splitter.js';
import type { ThinkingMemory } from './openai-thinking-memory.js';
import {
  LlmHttpError,
  PROVIDER,
  authHeaders,
  chatRequestBody,
  connectionError,
  fetchModelIds,
  httpError,
  joinUrl,
} from './openai-http.js';

export { checkOpenAiServer } from './openai-http.js';
export type { ThinkingMode } from './think-splitter.js';

export interface OpenAiLanguageModelOptions {
  /** Base URL including the version prefix, e.g. http://gpu:8000/v1. */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Extra attempts after the first on connection errors, 5xx and 429. Default 3. */
  retries?: number;
  /** Delay before the first retry; doubled for each further one, with jitter. Default 500 ms. */
  retryBaseDelayMs?: number;
  /** Longest wait between attempts. Default 20 s. */
  maxRetryDelayMs?: number;
  /** Time allowed until the server sends its first chunk. Default: no limit. */
  firstTokenTimeoutMs?: number;
  /** Time allowed between two chunks once streaming. Default: no limit. */
  idleTimeoutMs?: number;
  /** How reasoning written into the content is recognised; see ThinkTagSplitter. Default 'auto'. */
  thinking?: ThinkingMode;
  /**
   * In 'auto' mode: remembers models that start their replies mid-thought, so later replies are read
   * 'always-open' from the first token (see ThinkingMemory).
   */
  thinkingMemory?: ThinkingMemory;
  /** Time allowed for the /models check in load(). Default 5 s. */
  loadTimeoutMs?: number;
  logger?: Logger;
}

export class OpenAiLanguageModel implements LanguageModel {
  readonly name = 'openai';
  readonly model: string;
  private readonly options: OpenAiLanguageModelOptions;
  private readonly log: Logger;
  private loading: Promise<void> | undefined;
  /** Requests in flight, aborted by close(). */
  private readonly active = new Set<AbortController>();

  constructor(options: OpenAiLanguageModelOptions) {
    this.options = options;
    this.model = options.model;
    this.log = (options.logger ?? getLogger()).child({ provider: PROVIDER, model: options.model });
  }

  /** Checks that the server answers (GET /models; a 404 is fine). Idempotent; a failure is not cached. */
  load(): Promise<void> {
    this.loading ??= this.checkReachable().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  async close(): Promise<void> {
    for (const controller of this.active) controller.abort(new CancelledError('language model closed'));
    this.active.clear();
    this.loading = undefined;
  }

  async *chatStream(request: ChatRequest): AsyncGenerator<LlmStreamEvent> {
    const call = new AbortController();
    const onAbort = () => call.abort(request.signal?.reason);
    if (request.signal?.aborted) throw abortReason(request.signal);
    request.signal?.addEventListener('abort', onAbort, { once: true });
    this.active.add(call);
    try {
      const retries = this.options.retries ?? 3;
      for (let attempt = 0; ; attempt++) {
        let yielded = false;
        try {
          for await (const event of this.attempt(request, call.signal)) {
            // Events already decoded from a buffered chunk must not come out after an abort.
            if (call.signal.aborted) throw abortReason(call.signal);
            yielded = true;
            yield event;
          }
          return;
        } catch (err) {
          if (call.signal.aborted) throw abortReason(call.signal);
          const delay = yielded || attempt >= retries ? undefined : this.retryDelay(err, attempt);
          if (delay === undefined) throw err;
          this.log.warn(
            { attempt: attempt + 1, retries, delayMs: delay, err: (err as Error).message },
            'LLM request failed, retrying',
          );
          await sleep(delay, call.signal);
        }
      }
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
      this.active.delete(call);
      // Releases the connection when the caller stops reading early.
      if (!call.signal.aborted) call.abort(new CancelledError('stream closed by the caller'));
    }
  }

  /** The wait before the next attempt, or undefined when `err` must not be retried. */
  private retryDelay(err: unknown, attempt: number): number | undefined {
    if (!(err instanceof ProviderError) || !err.retryable || err instanceof MalformedOutputError)
      return undefined;
    const max = this.options.maxRetryDelayMs ?? 20_000;
    if (err instanceof LlmHttpError && err.retryAfterMs !== undefined) {
      return err.retryAfterMs <= max ? err.retryAfterMs : undefined;
    }
    const base = (this.options.retryBaseDelayMs ?? 500) * 2 ** attempt;
    // "Equal jitter": half fixed, half random, so clients that failed together do not retry together.
    return Math.min(max, base / 2 + Math.random() * (base / 2));
  }

  /** One HTTP request and its stream. */
  private async *attempt(request: ChatRequest, callSignal: AbortSignal): AsyncGenerator<LlmStreamEvent> {
    const url = joinUrl(this.options.baseUrl, 'chat/completions');
    const controller = new AbortController();
    const onAbort = () => controller.abort(callSignal.reason);
    callSignal.addEventListener('abort', onAbort, { once: true });
    const watch = new StallWatch(controller, this.options.firstTokenTimeoutMs);
    try {
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'text/event-stream',
            ...authHeaders(this.options.apiKey),
          },
          body: JSON.stringify(chatRequestBody(this.model, request)),
          signal: controller.signal,
        });
      } catch (err) {
        if (controller.signal.aborted) throw abortReason(controller.signal);
        throw connectionError(err, url);
      }
      if (!response.ok) throw await httpError(response, url);
      const decoder = new OpenAiStreamDecoder({
        provider: PROVIDER,
        model: this.model,
        thinking: this.thinkingMode(),
      });
      if (!response.body) throw new MalformedOutputError(PROVIDER, `empty response body from ${url}`);
      if ((response.headers.get('content-type') ?? '').includes('application/json')) {
        // A server that ignored `stream: true` answers with one chat.completion object.
        const body: unknown = await response.json().catch((err: unknown) => {
          throw controller.signal.aborted
            ? abortReason(controller.signal)
            : new MalformedOutputError(PROVIDER, 'response is not valid JSON', err);
        });
        watch.stop();
        yield* decoder.push(body);
        yield* this.finish(decoder);
        return;
      }
      let sawDone = false;
      try {
        for await (const sse of readSseStream(response.body)) {
          // Only time spent waiting on the server counts: the caller may take long with each event
          // (synthesising a sentence) while the server's chunks wait in the socket buffer.
          watch.stop();
          if (sse.data.trim() === '[DONE]') {
            sawDone = true;
            break;
          }
          yield* decoder.push(parseJson(sse.data));
          watch.arm(this.options.idleTimeoutMs);
        }
      } catch (err) {
        if (controller.signal.aborted) throw abortReason(controller.signal);
        if (err instanceof ProviderError) throw err;
        throw interrupted(url, err);
      }
      watch.stop();
      if (!sawDone && decoder.finishReason === undefined) throw interrupted(url);
      yield* this.finish(decoder);
    } finally {
      watch.stop();
      callSignal.removeEventListener('abort', onAbort);
      if (!controller.signal.aborted) controller.abort(new CancelledError('request finished'));
    }
  }

  /** The configured mode, or 'always-open' for a model remembered to start mid-thought. */
  private thinkingMode(): ThinkingMode {
    const configured = this.options.thinking ?? 'auto';
    if (configured !== 'auto') return configured;
    return this.options.thinkingMemory?.thinks(this.options.baseUrl, this.model) ? 'always-open' : 'auto';
  }

  private finish(decoder: OpenAiStreamDecoder): LlmStreamEvent[] {
    const events = decoder.finish();
    this.learnThinking(decoder);
    if (decoder.strayCloseTags > 0) {
      this.log.warn(
        { strayCloseTags: decoder.strayCloseTags },
        'a </think> arrived after the answer had started; consider thinking: always-open for this model',
      );
    }
    return events;
  }

  /** Updates the thinking memory from what this reply showed about the model. */
  private learnThinking(decoder: OpenAiStreamDecoder): void {
    if (decoder.retracted) {
      this.log.warn(
        'a </think> arrived after text had been judged answer; that text was the model thinking and was moved to the reasoning',
      );
    }
    const memory = this.options.thinkingMemory;
    if ((this.options.thinking ?? 'auto') !== 'auto' || !memory || decoder.sawExternalReasoning) return;
    const known = memory.thinks(this.options.baseUrl, this.model);
    if (!known && decoder.closedUntaggedThought) {
      memory.remember(this.options.baseUrl, this.model);
      this.log.info('the model starts its replies mid-thought; its next replies are read as always-open');
    } else if (known && decoder.endedInUnconfirmedThought && decoder.finishReason !== 'length') {
      memory.forget(this.options.baseUrl, this.model);
      this.log.warn('a model remembered as thinking answered without </think>; forgetting that it thinks');
    }
  }

  private async checkReachable(): Promise<void> {
    const models = await fetchModelIds(this.options.baseUrl, this.options.apiKey, {
      timeoutMs: this.options.loadTimeoutMs ?? 5000,
    });
    if (models && models.length > 0 && !models.includes(this.model)) {
      // Not fatal: some servers accept aliases they do not list.
      this.log.warn({ served: models }, 'the LLM server does not list the configured model');
    }
  }
}

/** Aborts the request when no chunk arrives in time: first the first-token limit, then the idle limit. */
class StallWatch {
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly controller: AbortController,
    firstTokenMs: number | undefined,
  ) {
    this.arm(firstTokenMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  arm(ms: number | undefined): void {
    this.stop();
    if (!ms || ms <= 0) return;
    this.timer = setTimeout(() => this.controller.abort(new StageTimeoutError('llm', ms)), ms);
    this.timer.unref();
  }
}

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch (err) {
    const preview = data.length > 200 ? `${data.slice(0, 200)}…` : data;
    throw new MalformedOutputError(PROVIDER, `stream data is not valid JSON: ${preview}`, err);
  }
}

function interrupted(url: string, cause?: unknown): ProviderError {
  const why = cause instanceof Error ? `: ${cause.message}` : '';
  return new ProviderError(PROVIDER, `the stream from ${url} ended before the reply was complete${why}`, {
    code: 'llm_stream_interrupted',
    retryable: true,
    cause,
  });
}
