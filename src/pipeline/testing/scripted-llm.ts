/**
 * A LanguageModel that answers from a script: each request takes the next scripted reply, a list of
 * stream events (a reply may end in an error, to fail mid-stream), and once the script is used up it
 * repeats the user's last words back. Every request is recorded. Events come one per turn of the event
 * loop and honour the abort signal between them, as a streaming server's do. For fast turn tests; it
 * passes the shared LanguageModel behaviour suite.
 */
import type { ChatRequest, LanguageModel, LlmStreamEvent } from '../../providers/types.js';
import { work } from './work.js';

export type ScriptedReply = Array<LlmStreamEvent | Error>;

export interface ScriptedLanguageModelOptions {
  model?: string;
  script?: ScriptedReply[];
  /** Time between two events. Default 0. */
  eventDelayMs?: number;
  /** Errors thrown by load(), in order (a server that is down). */
  loadErrors?: Error[];
}

/** A reply streamed word by word: optional reasoning first, then the text, then done. */
export function replyOf(
  text: string,
  options: { reasoning?: string; finishReason?: string } = {},
): ScriptedReply {
  const words = (s: string) => s.split(/(?=\s)/).filter((w) => w !== '');
  return [
    ...words(options.reasoning ?? '').map((w): LlmStreamEvent => ({ type: 'reasoning', text: w })),
    ...words(text).map((w): LlmStreamEvent => ({ type: 'text', text: w })),
    { type: 'done', finishReason: options.finishReason ?? 'stop' },
  ];
}

export class ScriptedLanguageModel implements LanguageModel {
  readonly name = 'scripted-llm';
  readonly model: string;
  readonly requests: ChatRequest[] = [];
  private readonly script: ScriptedReply[];
  private readonly loadErrors: Error[];

  constructor(private readonly options: ScriptedLanguageModelOptions = {}) {
    this.model = options.model ?? 'scripted-model';
    this.script = [...(options.script ?? [])];
    this.loadErrors = [...(options.loadErrors ?? [])];
  }

  /** Queues the next replies. */
  reply(...replies: ScriptedReply[]): this {
    this.script.push(...replies);
    return this;
  }

  async load(): Promise<void> {
    const err = this.loadErrors.shift();
    if (err) throw err;
  }

  async *chatStream(request: ChatRequest): AsyncGenerator<LlmStreamEvent> {
    this.requests.push(request);
    await work(0, request.signal);
    const reply = this.script.shift() ?? this.echo(request);
    for (const event of reply) {
      if (event instanceof Error) throw event;
      yield event;
      await work(this.options.eventDelayMs ?? 0, request.signal);
    }
  }

  async close(): Promise<void> {}

  private echo(request: ChatRequest): ScriptedReply {
    const user = [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    return replyOf(`You said: ${user.trim() || 'nothing'}. Anything else?`);
  }
}
