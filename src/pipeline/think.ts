/**
 * The answering half, the README's LLM stage: stream the LLM reply, cut it into sentences as it arrives and
 * hand each one to TTS at once, so speech starts while the model is still writing. Tools the caller
 * offers go to the model as they are; their calls come back in the reply for the caller to run.
 */
import type { VoiceMetrics } from '../observability/metrics.js';
import type { ChatMessage, LanguageModel, ToolCall, ToolDefinition } from '../providers/types.js';
import { SentenceSegmenter } from './sentence-segmenter.js';
import { toSpeakable } from './speakable.js';
import { runStage } from './stage.js';
import type { TtsStream } from './tts-stream.js';
import type { PipelineConfig, TurnFrame } from './turn-context.js';
import type { TurnTimings } from './types.js';

/** The LLM's reply as it streamed in; the channel's `Reply` (delivery.ts) is what goes to the user. */
export interface LlmReply {
  /** Raw answer text (untrimmed). */
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
  /** Feeds final sentences (e.g. a fallback answer) to TTS in order. */
  pushSentences(sentences: string[]): void;
  /** Sentences still buffered when the stream ended. */
  flush(): string[];
}

export interface ThinkDeps {
  llm: LanguageModel;
  config: Pick<PipelineConfig, 'llmTimeoutMs' | 'llmTemperature' | 'llmMaxTokens'>;
  metrics: Pick<VoiceMetrics, 'llmDuration' | 'llmTimeToFirstToken'>;
}

export type ThinkTimings = Pick<TurnTimings, 'llmFirstTokenMs' | 'llmFirstAnswerTokenMs' | 'llmTotalMs'>;

export async function think(
  { llm, config, metrics }: ThinkDeps,
  turn: TurnFrame,
  messages: ChatMessage[],
  tts: TtsStream | undefined,
  tools: ToolDefinition[] = [],
): Promise<{ reply: LlmReply; timings: ThinkTimings }> {
  const { clock, emit } = turn;
  const timings: ThinkTimings = {};
  let segmenter = new SentenceSegmenter();
  let sentenceIndex = 0;
  const pushSentences = (sentences: string[]) => {
    for (const sentence of sentences) {
      emit({ type: 'sentence', index: sentenceIndex++, text: sentence });
      const speakable = toSpeakable(sentence);
      if (speakable) tts?.push(speakable);
    }
  };
  const reply: LlmReply = {
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

  const start = clock.now();
  const done = await runStage(
    turn,
    {
      stage: 'llm',
      span: 'llm.chat_stream',
      attributes: { 'llm.provider': llm.name, 'llm.model': llm.model, 'llm.messages': messages.length },
      timeoutMs: config.llmTimeoutMs,
      metric: (s) => metrics.llmDuration.observe({ provider: llm.name }, s),
    },
    async ({ signal, span }) => {
      try {
        const stream = llm.chatStream({
          messages,
          signal,
          ...(tools.length ? { tools } : {}),
          temperature: config.llmTemperature,
          maxTokens: config.llmMaxTokens,
        });
        for await (const ev of stream) {
          if (timings.llmFirstTokenMs === undefined && ev.type !== 'done') {
            timings.llmFirstTokenMs = clock.now() - start;
            metrics.llmTimeToFirstToken.observe({ provider: llm.name }, timings.llmFirstTokenMs / 1000);
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
            span?.setAttributes({
              'llm.finish_reason': ev.finishReason,
              'llm.completion_tokens': ev.usage?.completionTokens ?? -1,
            });
          }
        }
      } finally {
        span?.setAttributes({
          'llm.text_length': reply.text.length,
          'llm.reasoning_length': reply.reasoning.length,
          'llm.ttft_ms': timings.llmFirstTokenMs ?? -1,
        });
      }
    },
  );
  timings.llmTotalMs = done.ms;
  return { reply, timings };
}
