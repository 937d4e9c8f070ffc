/**
 * Ready-made scripted responses for the fake OpenAI server, shaped like what vLLM really sends (chunk
 * envelope, role chunk first, empty-content finish chunk, usage chunk with `choices: []`). Each scenario's
 * doc says what a correct client makes of it.
 */
import type { ScriptedResponse, StreamStep } from './fake-openai-server.js';

export type Delta = Record<string, unknown>;

const created = 1_750_000_000;

/** One `chat.completion.chunk` with a single choice. */
export function chunk(
  delta: Delta,
  finishReason: string | null = null,
  model = 'fake-model',
): Record<string, unknown> {
  return {
    id: 'chatcmpl-scripted',
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason, stop_reason: null }],
  };
}

/** The trailing chunk vLLM sends when `stream_options.include_usage` is set. */
export function usageChunk(promptTokens: number, completionTokens: number): Record<string, unknown> {
  return {
    id: 'chatcmpl-scripted',
    object: 'chat.completion.chunk',
    created,
    model: 'fake-model',
    choices: [],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

/**
 * A complete streamed reply: the role chunk, one chunk per delta, the finish chunk, the usage chunk, and
 * [DONE]. `delayMs` is put before every delta chunk.
 */
export function streamOf(
  deltas: Delta[],
  options: { finishReason?: string; usage?: [number, number]; delayMs?: number } = {},
): ScriptedResponse {
  const steps: StreamStep[] = [{ data: chunk({ role: 'assistant', content: '' }) }];
  for (const d of deltas)
    steps.push(options.delayMs ? { data: chunk(d), delayMs: options.delayMs } : { data: chunk(d) });
  steps.push({ data: chunk({ content: '' }, options.finishReason ?? 'stop') });
  const [prompt, completion] = options.usage ?? [12, deltas.length];
  steps.push({ data: usageChunk(prompt, completion) });
  return { stream: steps };
}

const content = (...pieces: string[]): Delta[] => pieces.map((c) => ({ content: c }));

/** An OpenAI-style error body as vLLM returns it. */
export function errorBody(
  status: number,
  message: string,
  type = 'BadRequestError',
): Record<string, unknown> {
  return { object: 'error', message, type, param: null, code: status };
}

/** The thought of `scenarios.lateCloseThought`: long, so that speaking it would be obvious. */
export const LATE_THOUGHT =
  'Okay, the user wants to know the capital of France. That is Paris, a well known fact. ' +
  'I should check whether they want more detail about the city, its history or its population. ' +
  'They asked a short question, so a short answer is best. Let me also avoid any markdown ' +
  'because the reply will be spoken aloud. I will answer in one sentence.';
/** The answer of `scenarios.lateCloseThought`. */
export const LATE_ANSWER = 'The capital of France is Paris.';

export const scenarios = {
  /** vLLM with a reasoning parser: reasoning "Greeting. Reply briefly.", text "Hi there! Nice day.", usage 20/9. */
  reasoningContent: (): ScriptedResponse =>
    streamOf(
      [
        { reasoning_content: 'Greeting.' },
        { reasoning_content: ' Reply briefly.' },
        ...content('Hi', ' there!', ' Nice', ' day.'),
      ],
      { usage: [20, 9] },
    ),

  /** Newer vLLM / Ollama / OpenRouter: the `reasoning` field. Reasoning "Think first.", text "Answer.". */
  reasoningField: (): ScriptedResponse =>
    streamOf([{ reasoning: 'Think' }, { reasoning: ' first.' }, ...content('Ans', 'wer.')]),

  /** Inline tags split mid-tag: reasoning "Let me see.", text "It is four o'clock.". */
  inlineThink: (): ScriptedResponse =>
    streamOf(content('<thi', 'nk>\n', 'Let me', ' see.', '\n</th', 'ink>', '\n\nIt is', " four o'clock.")),

  /**
   * Qwen3-Thinking-2507 without a reasoning parser: starts mid-thought, only `</think>`.
   * Reasoning "Okay, the user wants a joke. Keep it short.", text "Why did the chicken cross the road?".
   * Needs a model name matching /thinking/i or thinking: 'always-open'.
   */
  qwenThinkingCloseOnly: (): ScriptedResponse =>
    streamOf(
      content(
        'Okay,',
        ' the user wants a joke.',
        ' Keep it short.\n',
        '</',
        'think>',
        '\n\n',
        'Why did',
        ' the chicken cross the road?',
      ),
    ),

  /**
   * Qwen3-Thinking-2507 served under `model` (e.g. `qwen3`) without a reasoning parser, streamed token by
   * token: a thought of several sentences with no opening tag, a late `</think>`, then a short answer.
   * A client guessing from the first sentence takes the thought for the answer until the tag arrives.
   * Reasoning LATE_THOUGHT, text LATE_ANSWER.
   */
  lateCloseThought: (model = 'qwen3'): ScriptedResponse => {
    const tokens = `${LATE_THOUGHT}\n</think>\n\n${LATE_ANSWER}`.split(/(?=[\s<])/);
    const steps: StreamStep[] = [{ data: chunk({ role: 'assistant', content: '' }, null, model) }];
    for (const t of tokens) steps.push({ data: chunk({ content: t }, null, model) });
    steps.push({ data: chunk({ content: '' }, 'stop', model) });
    steps.push({ data: usageChunk(30, tokens.length) });
    return { stream: steps };
  },

  /**
   * The same thought cut off by the token limit before `</think>` (finish reason "length"): only a client
   * that knows the model thinks reads it as a truncated thought rather than an answer.
   */
  truncatedThought: (model = 'qwen3'): ScriptedResponse => {
    const tokens = LATE_THOUGHT.split(/(?=\s)/);
    const steps: StreamStep[] = [{ data: chunk({ role: 'assistant', content: '' }, null, model) }];
    for (const t of tokens) steps.push({ data: chunk({ content: t }, null, model) });
    steps.push({ data: chunk({ content: '' }, 'length', model) });
    return { stream: steps };
  },

  /**
   * Native tool calls as vLLM's hermes parser streams them, arguments in many pieces, two calls.
   * Calls: get_weather {"city": "Paris", "unit": "celsius"} (id call_w1), get_time {"tz": "Europe/Paris"} (id call_t2).
   */
  toolCallDeltas: (): ScriptedResponse => {
    const argPieces = ['{"ci', 'ty": "', 'Par', 'is", "un', 'it": "cel', 'sius"', '}'];
    return streamOf(
      [
        {
          tool_calls: [
            { index: 0, id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '' } },
          ],
        },
        ...argPieces.map((a) => ({ tool_calls: [{ index: 0, function: { arguments: a } }] })),
        { tool_calls: [{ index: 1, id: 'call_t2', type: 'function', function: { name: 'get_time' } }] },
        { tool_calls: [{ index: 1, function: { arguments: '{"tz": ' } }] },
        { tool_calls: [{ index: 1, function: { arguments: '"Europe/Paris"}' } }] },
      ],
      { finishReason: 'tool_calls' },
    );
  },

  /** Hermes tags in the content (no server-side parser). Text "Checking.", calls get_weather {"city":"Oslo"} and set_timer {"minutes":5}. */
  hermesToolCalls: (): ScriptedResponse =>
    streamOf(
      content(
        'Checking.',
        '\n<tool',
        '_call>\n{"name": "get_weather", ',
        '"arguments": {"city": "Oslo"}}\n</tool_',
        'call>\n<tool_call>\n{"name": "set_timer", "arguments": {"minutes": 5}}\n</tool_call>',
      ),
    ),

  /** Hermes block with broken JSON inside: MalformedOutputError. */
  hermesMalformed: (): ScriptedResponse =>
    streamOf(content('<tool_call>\n{"name": "get_weather", "arguments": {"city": }\n</tool_call>')),

  /** A 500 then a good answer "Recovered.". */
  serverErrorThenSuccess: (): ScriptedResponse[] => [
    {
      status: 500,
      body: errorBody(500, 'CUDA error: an illegal memory access was encountered', 'InternalServerError'),
    },
    streamOf(content('Recov', 'ered.')),
  ],

  /** 429 with Retry-After (seconds) then a good answer "Finally.". */
  rateLimitedThenSuccess: (retryAfterSeconds = 1): ScriptedResponse[] => [
    {
      status: 429,
      headers: { 'retry-after': String(retryAfterSeconds) },
      body: {
        error: { message: 'Rate limit reached', type: 'rate_limit_error', code: 'rate_limit_exceeded' },
      },
    },
    streamOf(content('Final', 'ly.')),
  ],

  /** Sends "Hello" then goes silent with the connection open. */
  stallAfterFirstToken: (): ScriptedResponse => ({
    stream: [
      { data: chunk({ role: 'assistant', content: '' }) },
      { data: chunk({ content: 'Hello' }) },
      { stall: true },
    ],
  }),

  /** Accepts the request and never sends a byte of body (prompt processing that never ends). */
  stallBeforeFirstToken: (): ScriptedResponse => ({ stream: [{ stall: true }] }),

  /** A data line that is not JSON after one good chunk: MalformedOutputError. */
  malformedJson: (): ScriptedResponse => ({
    stream: [
      { data: chunk({ role: 'assistant', content: '' }) },
      { data: chunk({ content: 'Fine' }) },
      { raw: 'data: {"choices":[{"delta":{"content":"oops"\n\n' },
      { data: chunk({ content: '', finish_reason: 'stop' }) },
    ],
  }),

  /** vLLM's 400 for an over-long prompt. */
  contextLengthError: (): ScriptedResponse => ({
    status: 400,
    body: errorBody(
      400,
      "This model's maximum context length is 4096 tokens. However, you requested 5120 tokens (4096 in the messages, 1024 in the completion). Please reduce the length of the messages or completion.",
    ),
  }),

  /** A 401 with an OpenAI-style error object. */
  unauthorized: (): ScriptedResponse => ({
    status: 401,
    body: {
      error: { message: 'Invalid API key provided', type: 'invalid_request_error', code: 'invalid_api_key' },
    },
  }),

  /** Two good chunks then the socket is cut without [DONE]. */
  abruptClose: (): ScriptedResponse => ({
    stream: [
      { data: chunk({ role: 'assistant', content: '' }) },
      { data: chunk({ content: 'Half an ' }) },
      { destroy: true },
    ],
  }),
};
