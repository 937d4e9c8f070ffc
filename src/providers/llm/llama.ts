/**
 * The embedded language model: a GGUF file run in-process by llama.cpp through node-llama-cpp, so June
 * answers with no server at all.
 *
 * The model and one context stay loaded between requests. Requests take turns on the context's single
 * sequence, which keeps its KV cache: a follow-up turn only evaluates the tokens after the shared prefix
 * (system prompt and earlier history), which is most of what makes a conversational reply fast on a CPU.
 *
 * Formatting is node-llama-cpp's chat wrapper for the model (resolved from the GGUF's chat template). It
 * reports thought segments (Qwen3 `<think>`) apart from the answer, and parses tool calls with a grammar
 * built from the tool's JSON Schema, so a call's arguments are always valid JSON. After a tool call the
 * reply ends with finish reason "tool_calls"; the caller runs the tools and sends the results as "tool"
 * messages, and the model continues its turn.
 */
import { randomUUID } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';

import type {
  ChatHistoryItem,
  ChatModelFunctions,
  LlamaChat,
  LlamaContext,
  LlamaModel,
} from 'node-llama-cpp';

import { getLogger, type Logger } from '../../observability/logger.js';
import { abortReason, throwIfAborted } from '../../util/abort.js';
import { CancelledError, JuneError, ModelError, ProviderError } from '../../util/errors.js';
import type { ChatRequest, LanguageModel, LlmStreamEvent, TokenUsage } from '../types.js';
import { toLlamaFunctions, toLlamaHistory } from './llama-history.js';
import { LLAMA_PROVIDER_NAME, getSharedLlama } from './llama-runtime.js';
import { EdgeTrimmer, EventChannel, SerialLock, untilAborted } from './llama-stream.js';

export interface LlamaLanguageModelOptions {
  /** GGUF file to run. */
  modelPath: string;
  /** Context window in tokens (capped at what the model was trained for). */
  contextSize: number;
  /** CPU threads for evaluation; default: node-llama-cpp's choice (the machine's math cores). */
  threads?: number;
  /** Default token limit of a reply, thinking included; a request's `maxTokens` overrides it. */
  maxTokens: number;
  /** Default sampling temperature (0 = greedy); a request's `temperature` overrides it. */
  temperature: number;
  logger?: Logger;
}

interface Loaded {
  model: LlamaModel;
  context: LlamaContext;
  chat: LlamaChat;
}

const FINISH_REASONS: Record<string, string> = {
  eogToken: 'stop',
  stopGenerationTrigger: 'stop',
  customStopTrigger: 'stop',
  maxTokens: 'length',
  functionCalls: 'tool_calls',
};

/** Fails with a ModelError that says what is wrong with the file, before llama.cpp gets to see it. */
async function checkModelFile(modelPath: string): Promise<void> {
  const hint = 'Set JUNE_LLM_MODEL_PATH to a GGUF model file, or leave it unset to use the default model.';
  const info = await stat(modelPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT')
      throw new ModelError('model_not_found', `Language model file not found: ${modelPath}. ${hint}`, err);
    throw new ModelError(
      'model_invalid',
      `Cannot read the language model file ${modelPath}: ${err.message}`,
      err,
    );
  });
  if (!info.isFile())
    throw new ModelError('model_invalid', `The language model path is not a file: ${modelPath}. ${hint}`);
  const file = await open(modelPath, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead < 4 || buffer.toString('latin1') !== 'GGUF') {
      throw new ModelError(
        'model_invalid',
        `${modelPath} is not a GGUF model file (it may be corrupt or incomplete). ${hint}`,
      );
    }
  } finally {
    await file.close();
  }
}

export class LlamaLanguageModel implements LanguageModel {
  readonly name = LLAMA_PROVIDER_NAME;
  readonly model: string;
  private readonly options: LlamaLanguageModelOptions;
  private readonly log: Logger;
  private readonly lock = new SerialLock();
  private loading: Promise<Loaded> | undefined;
  /** Aborts every generation in flight; replaced after close() so the instance can be used again. */
  private closing = new AbortController();

  constructor(options: LlamaLanguageModelOptions) {
    this.options = options;
    this.model = path.basename(options.modelPath);
    this.log = (options.logger ?? getLogger()).child({ provider: LLAMA_PROVIDER_NAME, model: this.model });
  }

  /** Loads the model and its context. Idempotent; concurrent calls share one load; a failed load can be retried. */
  async load(): Promise<void> {
    await this.loaded();
  }

  private loaded(): Promise<Loaded> {
    this.loading ??= this.loadOnce().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  private async loadOnce(): Promise<Loaded> {
    const started = performance.now();
    const { modelPath, threads } = this.options;
    await checkModelFile(modelPath);
    const llama = await getSharedLlama();
    const { LlamaChat, resolveChatWrapper } = await import('node-llama-cpp');

    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new ModelError('model_invalid', `Cannot load the language model ${modelPath}: ${reason}`, err);
    }
    try {
      const contextSize = Math.min(this.options.contextSize, model.trainContextSize);
      const context = await model.createContext({
        contextSize,
        sequences: 1,
        ...(threads ? { threads } : {}),
      });
      const chatWrapper = resolveChatWrapper(model);
      const chat = new LlamaChat({ contextSequence: context.getSequence(), chatWrapper });
      this.log.info(
        {
          loadMs: Math.round(performance.now() - started),
          contextSize,
          chatWrapper: chatWrapper.wrapperName,
        },
        'embedded language model loaded',
      );
      return { model, context, chat };
    } catch (err) {
      await model.dispose();
      throw new ProviderError(
        LLAMA_PROVIDER_NAME,
        `cannot create a ${this.options.contextSize}-token context: ${(err as Error).message}`,
        {
          code: 'llm_context',
          userMessage: 'The built-in language model does not fit in memory with this context size.',
          cause: err,
        },
      );
    }
  }

  async *chatStream(request: ChatRequest): AsyncIterable<LlmStreamEvent> {
    const { signal } = request;
    throwIfAborted(signal);
    // Taken before queueing, so that close() also cancels the requests still waiting for their turn.
    const closing = this.closing.signal;
    const { model, chat } = await untilAborted(this.loaded(), signal);
    const release = await this.lock.acquire(signal);

    // One controller stops the generation, whether the caller aborts, the model is closed, or the caller
    // simply stops reading the stream.
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal?.reason);
    const onClose = () => stop.abort(new CancelledError('language model closed'));
    signal?.addEventListener('abort', onAbort, { once: true });
    closing.addEventListener('abort', onClose, { once: true });

    try {
      if (signal?.aborted) throw abortReason(signal);
      if (closing.aborted) throw new CancelledError('language model closed');
      const history = toLlamaHistory(request.messages);
      const functions = toLlamaFunctions(request.tools);
      const events = new EventChannel<LlmStreamEvent>();
      const generation = this.generate(chat, model, history, functions, request, stop.signal, events);
      generation.then(
        (done) => {
          events.push(done);
          events.end();
        },
        (err: unknown) => events.fail(err),
      );
      try {
        for await (const event of events.drain()) {
          // Output already buffered when the caller aborts is dropped: nothing comes out after an abort.
          if (stop.signal.aborted) throw stop.signal.reason;
          yield event;
        }
      } catch (err) {
        throw this.toError(err, signal, stop.signal);
      } finally {
        stop.abort(new CancelledError('stream closed by the reader'));
        await generation.catch(() => undefined); // the sequence is free only once generation has stopped
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      closing.removeEventListener('abort', onClose);
      release();
    }
  }

  private async generate(
    chat: LlamaChat,
    model: LlamaModel,
    history: ChatHistoryItem[],
    functions: ChatModelFunctions | undefined,
    request: ChatRequest,
    signal: AbortSignal,
    events: EventChannel<LlmStreamEvent>,
  ): Promise<{ type: 'done'; finishReason: string; usage: TokenUsage }> {
    const answer = new EdgeTrimmer();
    const reasoning = new EdgeTrimmer();
    const meterBefore = chat.sequence.tokenMeter.getState();
    const started = performance.now();
    const response = await chat.generateResponse(history, {
      signal,
      maxTokens: request.maxTokens ?? this.options.maxTokens,
      temperature: request.temperature ?? this.options.temperature,
      // llama.cpp server's default truncation, so the embedded model samples like a llama-server would.
      topK: 40,
      topP: 0.95,
      minP: 0.05,
      ...(functions ? { functions } : {}),
      onResponseChunk: (chunk) => {
        // Every segment kind (thoughts, and "comments" of models that have them) is kept out of the answer.
        const isAnswer = chunk.type !== 'segment';
        const text = (isAnswer ? answer : reasoning).push(chunk.text);
        if (text) events.push({ type: isAnswer ? 'text' : 'reasoning', text });
      },
      onFunctionCall: (call) => {
        const args = JSON.stringify(call.params ?? {});
        events.push({
          type: 'tool_call',
          call: { id: `call_${randomUUID()}`, name: call.functionName, arguments: args },
        });
      },
    });
    const { usedOutputTokens } = chat.sequence.tokenMeter.diff(meterBefore);
    const usage: TokenUsage = { completionTokens: usedOutputTokens };
    const promptTokens = promptTokenCount(chat, model, history, functions);
    if (promptTokens !== undefined) usage.promptTokens = promptTokens;
    const seconds = (performance.now() - started) / 1000;
    this.log.debug(
      {
        stopReason: response.metadata.stopReason,
        tokens: usedOutputTokens,
        tokensPerSecond: Math.round(usedOutputTokens / seconds),
      },
      'llm reply generated',
    );
    return {
      type: 'done',
      finishReason: FINISH_REASONS[response.metadata.stopReason] ?? response.metadata.stopReason,
      usage,
    };
  }

  /** What to throw for a failed generation: the caller's abort reason, a cancel, or a provider error. */
  private toError(err: unknown, signal: AbortSignal | undefined, stop: AbortSignal): Error {
    if (signal?.aborted) return abortReason(signal);
    if (stop.aborted) return stop.reason instanceof Error ? stop.reason : new CancelledError();
    if (err instanceof JuneError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new ProviderError(LLAMA_PROVIDER_NAME, `generation failed: ${message}`, {
      code: 'llm_failed',
      cause: err,
    });
  }

  /** Stops any generation in flight and frees the model and its context. A later request loads it again. */
  async close(): Promise<void> {
    this.closing.abort();
    this.closing = new AbortController();
    const loading = this.loading;
    this.loading = undefined;
    const loaded = await loading?.catch(() => undefined);
    if (!loaded) return;
    const release = await this.lock.acquire(); // waits for an aborted generation to unwind
    try {
      loaded.chat.dispose();
      await loaded.context.dispose();
      await loaded.model.dispose();
    } finally {
      release();
    }
  }
}

/** Tokens of the prompt as the chat wrapper renders it (node-llama-cpp reports only newly evaluated ones). */
function promptTokenCount(
  chat: LlamaChat,
  model: LlamaModel,
  history: ChatHistoryItem[],
  functions: ChatModelFunctions | undefined,
): number | undefined {
  try {
    const { contextText } = chat.chatWrapper.generateContextState({
      chatHistory: history,
      ...(functions ? { availableFunctions: functions } : {}),
    });
    return contextText.tokenize(model.tokenizer).length;
  } catch {
    return undefined; // usage is informational; never fail a reply over it
  }
}
