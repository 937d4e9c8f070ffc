/**
 * The answering half: stream the LLM reply, cut it into sentences as it arrives and hand each one to TTS
 * at once, so speech starts while the model is still writing.
 */
import { recordSpanError, startSpan } from '../observability/tracing.js';
import type { ChatMessage, ToolCall } from '../providers/types.js';
import { withStageSignal } from './hear.js';
import { SentenceSegmenter } from './sentence-segmenter.js';
import { toSpeakable } from './speakable.js';
import type { TtsStream } from './tts-stream.js';
import type { TurnContext } from './turn-context.js';

export interface Reply {
  /** Raw answer text (untrimmed). */
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
  /** Feeds final sentences (e.g. a fallback answer) to TTS in order. */
  pushSentences(sentences: string[]): void;
  /** Sentences still buffered when the stream ended. */
  flush(): string[];
}

export async function think(
  turn: TurnContext,
  messages: ChatMessage[],
  tts: TtsStream | undefined,
): Promise<Reply> {
  const { clock, timings, emit, config, input } = turn;
  const { llm } = turn.deps;
  let segmenter = new SentenceSegmenter();
  let sentenceIndex = 0;
  const pushSentences = (sentences: string[]) => {
    for (const sentence of sentences) {
      emit({ type: 'sentence', index: sentenceIndex++, text: sentence });
      const speakable = toSpeakable(sentence);
      if (speakable) tts?.push(speakable);
    }
  };
  const reply: Reply = {
    text: '',
    reasoning: '',
    toolCalls: [],
    pushSentences,
    flush: () => segmenter.flush(),
  };
  /** A late `</think>`: the answer so far was reasoning; nothing of it may be shown, kept or spoken. */
  const retract = (reasoning: string) => {
    reply.reasoning += reasoning;
    reply.text = '';
    segmenter = new SentenceSegmenter();
    tts?.retract();
    delete timings.llmFirstAnswerTokenMs;
    emit({ type: 'retract', sentences: sentenceIndex });
    emit({ type: 'reasoning_delta', text: reasoning });
  };

  turn.stage = 'llm';
  const start = clock.now();
  emit({ type: 'stage_start', stage: 'llm', atMs: start });
  const span = startSpan('llm.chat_stream', turn.root, {
    'llm.provider': llm.name,
    'llm.model': llm.model,
    'llm.messages': messages.length,
  });
  let ok = false;
  try {
    await withStageSignal('llm', config.llmTimeoutMs, input.signal, async (signal) => {
      const stream = llm.chatStream({
        messages,
        signal,
        temperature: config.llmTemperature,
        maxTokens: config.llmMaxTokens,
      });
      for await (const ev of stream) {
        if (timings.llmFirstTokenMs === undefined && ev.type !== 'done') {
          timings.llmFirstTokenMs = clock.now() - start;
          turn.metrics.llmTimeToFirstToken.observe({ provider: llm.name }, timings.llmFirstTokenMs / 1000);
        }
        if (ev.type === 'reasoning') {
          reply.reasoning += ev.text;
          emit({ type: 'reasoning_delta', text: ev.text });
        } else if (ev.type === 'text') {
          if (timings.llmFirstAnswerTokenMs === undefined && ev.text.trim()) {
            timings.llmFirstAnswerTokenMs = clock.now() - start;
          }
          reply.text += ev.text;
          emit({ type: 'text_delta', text: ev.text });
          pushSentences(segmenter.push(ev.text));
        } else if (ev.type === 'retract') {
          retract(ev.text);
        } else if (ev.type === 'tool_call') {
          reply.toolCalls.push(ev.call);
        } else {
          span.setAttributes({
            'llm.finish_reason': ev.finishReason,
            'llm.completion_tokens': ev.usage?.completionTokens ?? -1,
          });
        }
      }
    });
    ok = true;
  } catch (err) {
    recordSpanError(span, err);
    throw err;
  } finally {
    const end = clock.now();
    timings.llmTotalMs = end - start;
    clock.busy.push([start, end]);
    emit({ type: 'stage_end', stage: 'llm', atMs: end, durationMs: end - start, ok });
    span.setAttributes({
      'llm.text_length': reply.text.length,
      'llm.reasoning_length': reply.reasoning.length,
      'llm.ttft_ms': timings.llmFirstTokenMs ?? -1,
    });
    span.end();
  }
  turn.metrics.llmDuration.observe({ provider: llm.name }, timings.llmTotalMs / 1000);
  return reply;
}
