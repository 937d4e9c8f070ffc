/**
 * Speaks sentences one after another while the LLM is still producing the next ones. Sentences are
 * synthesized in order on one engine (engines are not assumed to be re-entrant); the first failure stops
 * further synthesis and is reported in the outcome instead of thrown, so the caller can fall back to a
 * text-only reply.
 */
import type { Span } from '@opentelemetry/api';
import type { Logger } from '../observability/logger.js';
import { recordSpanError, startSpan } from '../observability/tracing.js';
import type { PcmAudio, TextToSpeech } from '../providers/types.js';
import { withStageSignal } from '../util/abort.js';
import type { TurnEvent } from './types.js';

export interface TtsOutcome {
  chunks: PcmAudio[];
  chars: number;
  /** Sum of the time spent synthesizing. */
  busyMs: number;
  intervals: Array<[number, number]>;
  perSentenceMs: number[];
  firstChunkMs?: number;
  /** Turn-clock time at which the first sentence's audio was ready. */
  firstAudioAtMs?: number;
  error?: unknown;
}

export interface TtsStreamOptions {
  language: string | undefined;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  clock: { now(): number };
  emit: (e: TurnEvent) => void;
  logger: Logger;
  /** The span that the `tts.synthesize` span hangs under. */
  parentSpan?: Span;
}

export interface TtsStream {
  push(text: string): void;
  /** Drops every sentence pushed so far: those waiting are skipped, the one being spoken is stopped. */
  retract(): void;
  /** Waits for every pushed sentence; never rejects. */
  finish(): Promise<TtsOutcome>;
  abort(): void;
}

export function synthesizeSentences(tts: TextToSpeech, options: TtsStreamOptions): TtsStream {
  const controller = new AbortController();
  const onParentAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onParentAbort, { once: true });
  const outcome: TtsOutcome = { chunks: [], chars: 0, busyMs: 0, intervals: [], perSentenceMs: [] };
  let chain: Promise<void> = Promise.resolve();
  let span: Span | undefined;
  let index = 0;
  /** Sentences below this index were retracted. */
  let keepFrom = 0;
  /** Aborts the sentence being spoken, when it is retracted. */
  let current: { index: number; controller: AbortController } | undefined;
  /** The sentence whose failure is in `outcome.error`. */
  let errorIndex = -1;

  const speakOne = async (text: string, i: number) => {
    if (outcome.error !== undefined || i < keepFrom) return;
    const start = options.clock.now();
    const own = new AbortController();
    current = { index: i, controller: own };
    const signal = AbortSignal.any([controller.signal, own.signal]);
    try {
      const pcm = await withStageSignal('tts', options.timeoutMs, signal, (s) =>
        tts.synthesize(text, { language: options.language, signal: s }),
      );
      const end = options.clock.now();
      if (i < keepFrom) {
        outcome.busyMs += end - start;
        outcome.intervals.push([start, end]);
        return;
      }
      outcome.chunks.push(pcm);
      outcome.chars += text.length;
      outcome.busyMs += end - start;
      outcome.intervals.push([start, end]);
      outcome.perSentenceMs.push(end - start);
      if (outcome.firstChunkMs === undefined) {
        outcome.firstChunkMs = end - start;
        outcome.firstAudioAtMs = end;
      }
      const durationSec = pcm.samples.length / pcm.sampleRate;
      span?.addEvent('sentence', { index: i, chars: text.length, 'audio.duration_sec': durationSec });
      options.emit({ type: 'audio_chunk', index: i, durationSec, atMs: end, pcm });
    } catch (err) {
      const end = options.clock.now();
      outcome.busyMs += end - start;
      outcome.intervals.push([start, end]);
      if (i < keepFrom && !controller.signal.aborted) return; // retracted while being spoken
      outcome.error = err;
      errorIndex = i;
      options.logger.debug({ err: String(err), sentence: i }, 'tts sentence failed');
    } finally {
      current = undefined;
    }
  };

  return {
    push(text) {
      span ??= startSpan('tts.synthesize', options.parentSpan, { 'tts.provider': tts.name });
      const i = index++;
      chain = chain.then(() => speakOne(text, i));
    },
    retract() {
      keepFrom = index;
      if (current && current.index < keepFrom) current.controller.abort(new Error('sentence retracted'));
      // Every sentence made so far was pushed before now: all its audio goes, and a failure on one of
      // them no longer stops the answer. Timings start again with the answer's first sentence.
      outcome.chunks = [];
      outcome.chars = 0;
      if (errorIndex >= 0 && errorIndex < keepFrom) {
        delete outcome.error;
        errorIndex = -1;
      }
      delete outcome.firstChunkMs;
      delete outcome.firstAudioAtMs;
    },
    async finish() {
      await chain;
      options.signal?.removeEventListener('abort', onParentAbort);
      if (span) {
        span.setAttributes({
          'tts.sentences': outcome.chunks.length,
          'tts.chars': outcome.chars,
          'tts.busy_ms': outcome.busyMs,
        });
        if (outcome.error !== undefined) recordSpanError(span, outcome.error);
        span.end();
      }
      return outcome;
    },
    abort() {
      controller.abort();
    },
  };
}
