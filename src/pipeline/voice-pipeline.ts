/**
 * The voice turn: decode → VAD → STT → LLM (streaming) → per-sentence TTS while the LLM still streams →
 * concatenate → encode. Text turns use the same path without the audio stages.
 *
 * Errors: bad audio and LLM failures throw typed JuneErrors (the task layer decides about retries);
 * TTS failures degrade to a text-only reply with a note; no speech / an empty transcript get a fixed
 * "please repeat" reply without calling the LLM.
 */
import type { Span } from '@opentelemetry/api';
import {
  decodeAudio,
  detectSpeech,
  encodeAudio,
  concatPcm,
  audioDurationSec,
  mimeTypeFor,
} from '../audio/index.js';
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { getLogger } from '../observability/logger.js';
import { voiceMetrics, type VoiceMetrics } from '../observability/metrics.js';
import { inSpan, recordSpanError, startSpan } from '../observability/tracing.js';
import type {
  ChatMessage,
  LanguageModel,
  PcmAudio,
  SpeechToText,
  TextToSpeech,
  Transcript,
} from '../providers/types.js';
import { stageSignal } from '../util/abort.js';
import { CancelledError, JuneError, toJuneError } from '../util/errors.js';
import { unionLength } from './intervals.js';
import { REPLIES } from './replies.js';
import { SentenceSegmenter } from './sentence-segmenter.js';
import { toSpeakable } from './speakable.js';
import { synthesizeSentences, type TtsOutcome } from './tts-stream.js';
import type {
  ReplyFormat,
  Stage,
  TurnEvent,
  TurnInput,
  TurnResult,
  TurnStatus,
  TurnTimings,
} from './types.js';

export type PipelineConfig = Pick<
  JuneConfig,
  | 'systemPrompt'
  | 'historyTurns'
  | 'audioMaxBytes'
  | 'audioMaxSeconds'
  | 'vadThresholdDb'
  | 'vadMinSpeechMs'
  | 'replyFormat'
  | 'decodeTimeoutMs'
  | 'sttTimeoutMs'
  | 'llmTimeoutMs'
  | 'ttsTimeoutMs'
  | 'sttLanguage'
  | 'llmTemperature'
  | 'llmMaxTokens'
>;

export interface VoicePipelineDeps {
  stt: SpeechToText;
  llm: LanguageModel;
  tts: TextToSpeech;
  config: PipelineConfig;
  logger?: Logger;
  metrics?: VoiceMetrics;
}

/** Per-turn bookkeeping: the clock, busy intervals of model stages, events. */
class TurnClock {
  readonly t0 = performance.now();
  readonly busy: Array<[number, number]> = [];
  constructor(private readonly emit: (e: TurnEvent) => void) {}
  now(): number {
    return performance.now() - this.t0;
  }
  async stage<T>(stage: Stage, fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
    const start = this.now();
    this.emit({ type: 'stage_start', stage, atMs: start });
    let ok = false;
    try {
      const value = await fn();
      ok = true;
      return { value, ms: this.now() - start };
    } finally {
      const end = this.now();
      this.busy.push([start, end]);
      this.emit({ type: 'stage_end', stage, atMs: end, durationMs: end - start, ok });
    }
  }
}

export class VoicePipeline {
  private readonly logger: Logger;
  private readonly metrics: VoiceMetrics;

  constructor(private readonly deps: VoicePipelineDeps) {
    this.logger = deps.logger ?? getLogger();
    this.metrics = deps.metrics ?? voiceMetrics();
  }

  /** Loads every model so the first turn is fast. */
  async warmUp(): Promise<void> {
    await Promise.all([this.deps.stt.load(), this.deps.llm.load(), this.deps.tts.load()]);
  }

  async run(input: TurnInput): Promise<TurnResult> {
    const platform = input.platform ?? 'cli';
    const emit = (e: TurnEvent) => {
      try {
        input.onEvent?.(e);
      } catch (err) {
        this.logger.warn({ err }, 'turn event listener threw');
      }
    };
    const clock = new TurnClock(emit);
    const root = startSpan('voice.turn', undefined, { 'june.platform': platform, 'june.input': input.kind });
    let stageName = 'pipeline';
    try {
      const result = await this.runStages(input, clock, root, emit, (s) => (stageName = s));
      this.metrics.messagesProcessed.inc({ platform, status: result.status });
      this.metrics.voiceProcessingDuration.observe({ platform }, result.timings.totalMs / 1000);
      root.setAttributes({ 'june.status': result.status, 'june.total_ms': result.timings.totalMs });
      this.logger.info({ platform, status: result.status, timings: result.timings }, 'turn done');
      return result;
    } catch (err) {
      const e = toJuneError(err);
      this.metrics.messagesProcessed.inc({
        platform,
        status: e instanceof CancelledError ? 'cancelled' : 'error',
      });
      this.metrics.errors.inc({ service: stageName, error_type: e.code });
      recordSpanError(root, e);
      this.logger.warn({ platform, stage: stageName, code: e.code, err: e.message }, 'turn failed');
      throw e;
    } finally {
      root.end();
    }
  }

  private async runStages(
    input: TurnInput,
    clock: TurnClock,
    root: Span,
    emit: (e: TurnEvent) => void,
    setStage: (s: string) => void,
  ): Promise<TurnResult> {
    const { config } = this.deps;
    const timings: Partial<TurnTimings> = {};
    const speak = input.speak ?? input.kind === 'audio';
    const format: ReplyFormat = input.replyFormat ?? config.replyFormat;
    const languageHint = input.language ?? config.sttLanguage;
    let transcript: Transcript | undefined;
    let userText: string;

    if (input.kind === 'audio') {
      setStage('decode');
      const decoded = await clock.stage('decode', () =>
        inSpan('voice.decode', root, { 'audio.input_bytes': input.audio.length }, async (span) => {
          const s = stageSignal('decode', config.decodeTimeoutMs, input.signal);
          try {
            const d = await decodeAudio(input.audio, {
              maxBytes: config.audioMaxBytes,
              maxSeconds: config.audioMaxSeconds,
              signal: s.signal,
              logger: this.logger,
            });
            span.setAttributes({ 'audio.format': d.format, 'audio.duration_sec': d.durationSec });
            return d;
          } finally {
            s.dispose();
          }
        }),
      );
      timings.decodeMs = decoded.ms;
      timings.inputAudioSec = decoded.value.durationSec;
      const pcm = decoded.value.pcm;

      setStage('vad');
      const vad = await clock.stage('vad', async () =>
        detectSpeech(pcm, { thresholdDb: config.vadThresholdDb, minSpeechMs: config.vadMinSpeechMs }),
      );
      timings.vadMs = vad.ms;
      root.setAttribute('audio.speech_ms', vad.value.speechMs);
      if (!vad.value.hasSpeech) {
        this.logger.info(
          { speechMs: vad.value.speechMs, rmsDb: vad.value.rmsDb },
          'no speech detected; STT skipped',
        );
        return this.cannedReply(
          'no_speech',
          REPLIES.noSpeech,
          '',
          undefined,
          input,
          clock,
          root,
          timings,
          speak,
          format,
        );
      }

      setStage('stt');
      const stt = await clock.stage('stt', () =>
        inSpan(
          'stt.transcribe',
          root,
          { 'stt.provider': this.deps.stt.name, 'audio.duration_sec': decoded.value.durationSec },
          async (span) => {
            const s = stageSignal('stt', config.sttTimeoutMs, input.signal);
            try {
              const t = await this.deps.stt.transcribe(pcm, { language: languageHint, signal: s.signal });
              span.setAttributes({
                'stt.language': t.language ?? 'unknown',
                'stt.text_length': t.text.length,
              });
              return t;
            } catch (err) {
              throw s.signal.aborted && s.signal.reason instanceof JuneError ? s.signal.reason : err;
            } finally {
              s.dispose();
            }
          },
        ),
      );
      timings.sttMs = stt.ms;
      this.metrics.sttDuration.observe({ provider: this.deps.stt.name }, stt.ms / 1000);
      transcript = stt.value;
      emit({ type: 'transcript', transcript });
      userText = transcript.text.trim();
      if (!userText) {
        return this.cannedReply(
          'empty_transcript',
          REPLIES.emptyTranscript,
          '',
          transcript,
          input,
          clock,
          root,
          timings,
          speak,
          format,
        );
      }
    } else {
      userText = input.text.trim();
    }

    const language =
      transcript?.language ?? (languageHint && languageHint !== 'auto' ? languageHint : undefined);
    const history = (input.history ?? []).slice(-config.historyTurns);
    const messages: ChatMessage[] = [
      { role: 'system', content: config.systemPrompt },
      ...history,
      { role: 'user', content: userText },
    ];

    // LLM streaming, with TTS consuming finished sentences concurrently.
    setStage('llm');
    const segmenter = new SentenceSegmenter();
    const tts = speak
      ? synthesizeSentences(this.deps.tts, {
          language,
          timeoutMs: config.ttsTimeoutMs,
          signal: input.signal,
          clock,
          emit,
          logger: this.logger,
          parentSpan: root,
        })
      : undefined;
    let text = '';
    let reasoning = '';
    const toolCalls: TurnResult['toolCalls'] = [];
    let sentenceIndex = 0;
    const pushSentences = (sentences: string[]) => {
      for (const sentence of sentences) {
        emit({ type: 'sentence', index: sentenceIndex++, text: sentence });
        const speakable = toSpeakable(sentence);
        if (speakable) tts?.push(speakable);
      }
    };

    const llmStart = clock.now();
    emit({ type: 'stage_start', stage: 'llm', atMs: llmStart });
    const llmSpan = startSpan('llm.chat_stream', root, {
      'llm.provider': this.deps.llm.name,
      'llm.model': this.deps.llm.model,
      'llm.messages': messages.length,
    });
    const s = stageSignal('llm', config.llmTimeoutMs, input.signal);
    let llmOk = false;
    try {
      for await (const ev of this.deps.llm.chatStream({
        messages,
        signal: s.signal,
        temperature: config.llmTemperature,
        maxTokens: config.llmMaxTokens,
      })) {
        if (timings.llmFirstTokenMs === undefined && ev.type !== 'done') {
          timings.llmFirstTokenMs = clock.now() - llmStart;
          this.metrics.llmTimeToFirstToken.observe(
            { provider: this.deps.llm.name },
            timings.llmFirstTokenMs / 1000,
          );
        }
        if (ev.type === 'reasoning') {
          reasoning += ev.text;
          emit({ type: 'reasoning_delta', text: ev.text });
        } else if (ev.type === 'text') {
          if (timings.llmFirstAnswerTokenMs === undefined && ev.text.trim())
            timings.llmFirstAnswerTokenMs = clock.now() - llmStart;
          text += ev.text;
          emit({ type: 'text_delta', text: ev.text });
          pushSentences(segmenter.push(ev.text));
        } else if (ev.type === 'tool_call') {
          toolCalls.push(ev.call);
        } else {
          llmSpan.setAttributes({
            'llm.finish_reason': ev.finishReason,
            'llm.completion_tokens': ev.usage?.completionTokens ?? -1,
          });
        }
      }
      llmOk = true;
    } catch (err) {
      tts?.abort();
      const e =
        s.signal.aborted && s.signal.reason instanceof JuneError && !input.signal?.aborted
          ? s.signal.reason
          : err;
      recordSpanError(llmSpan, e);
      throw e;
    } finally {
      s.dispose();
      const end = clock.now();
      timings.llmTotalMs = end - llmStart;
      clock.busy.push([llmStart, end]);
      emit({ type: 'stage_end', stage: 'llm', atMs: end, durationMs: end - llmStart, ok: llmOk });
      llmSpan.setAttributes({
        'llm.text_length': text.length,
        'llm.reasoning_length': reasoning.length,
        'llm.ttft_ms': timings.llmFirstTokenMs ?? -1,
      });
      llmSpan.end();
    }
    this.metrics.llmDuration.observe({ provider: this.deps.llm.name }, timings.llmTotalMs / 1000);

    const notes: string[] = [];
    text = text.trim();
    if (!text) {
      text = REPLIES.emptyAnswer;
      notes.push('The model produced no answer text (only reasoning or nothing).');
      pushSentences([text]);
    } else {
      pushSentences(segmenter.flush());
    }

    setStage('tts');
    const audio = tts
      ? await this.finishAudio(await tts.finish(), root, clock, timings, format, notes)
      : undefined;
    return this.result(
      'ok',
      userText,
      transcript,
      text,
      reasoning,
      toolCalls,
      language,
      audio,
      notes,
      timings,
      clock,
      messages.at(-1)!,
    );
  }

  /** Joins the synthesized sentences and encodes them (or records why there is no audio). */
  private async finishAudio(
    outcome: TtsOutcome,
    root: Span,
    clock: TurnClock,
    timings: Partial<TurnTimings>,
    format: ReplyFormat,
    notes: string[],
  ): Promise<TurnResult['audio']> {
    for (const i of outcome.intervals) clock.busy.push(i);
    timings.ttsTotalMs = outcome.busyMs;
    if (outcome.firstChunkMs !== undefined) timings.ttsFirstChunkMs = outcome.firstChunkMs;
    if (outcome.firstAudioAtMs !== undefined) timings.timeToFirstAudioMs = outcome.firstAudioAtMs;
    for (const ms of outcome.perSentenceMs)
      this.metrics.ttsDuration.observe({ provider: this.deps.tts.name }, ms / 1000);
    if (outcome.error) {
      const e = toJuneError(outcome.error);
      if (e instanceof CancelledError) throw e;
      this.metrics.errors.inc({ service: 'tts', error_type: e.code });
      notes.push(`${REPLIES.ttsFailed} (${e.message})`);
      this.logger.warn({ code: e.code, err: e.message }, 'TTS failed; replying with text only');
      return undefined;
    }
    if (outcome.chunks.length === 0) return undefined;
    const pcm: PcmAudio = concatPcm(outcome.chunks, 120);
    const encoded = await clock.stage('encode', () =>
      inSpan(
        'audio.encode',
        root,
        { 'audio.format': format, 'audio.duration_sec': audioDurationSec(pcm) },
        async (span) => {
          const data = await encodeAudio(pcm, format);
          span.setAttribute('audio.output_bytes', data.length);
          return data;
        },
      ),
    );
    timings.encodeMs = encoded.ms;
    const replySec = audioDurationSec(pcm);
    timings.replyAudioSec = replySec;
    return { format, mimeType: mimeTypeFor(format), data: encoded.value, durationSec: replySec };
  }

  private async cannedReply(
    status: TurnStatus,
    text: string,
    userText: string,
    transcript: Transcript | undefined,
    input: TurnInput,
    clock: TurnClock,
    root: Span,
    timings: Partial<TurnTimings>,
    speak: boolean,
    format: ReplyFormat,
  ): Promise<TurnResult> {
    const notes: string[] = [];
    let audio: TurnResult['audio'];
    if (speak) {
      const tts = synthesizeSentences(this.deps.tts, {
        language: transcript?.language,
        timeoutMs: this.deps.config.ttsTimeoutMs,
        signal: input.signal,
        clock,
        emit: () => undefined,
        logger: this.logger,
        parentSpan: root,
      });
      tts.push(text);
      audio = await this.finishAudio(await tts.finish(), root, clock, timings, format, notes);
    }
    return this.result(
      status,
      userText,
      transcript,
      text,
      '',
      [],
      transcript?.language,
      audio,
      notes,
      timings,
      clock,
      undefined,
    );
  }

  private result(
    status: TurnStatus,
    userText: string,
    transcript: Transcript | undefined,
    text: string,
    reasoning: string,
    toolCalls: TurnResult['toolCalls'],
    language: string | undefined,
    audio: TurnResult['audio'],
    notes: string[],
    partial: Partial<TurnTimings>,
    clock: TurnClock,
    userMessage: ChatMessage | undefined,
  ): TurnResult {
    const totalMs = clock.now();
    const timings: TurnTimings = {
      ...partial,
      totalMs,
      overheadMs: Math.max(0, totalMs - unionLength(clock.busy)),
    };
    const newMessages: ChatMessage[] = userMessage
      ? [userMessage, { role: 'assistant', content: text, ...(toolCalls.length ? { toolCalls } : {}) }]
      : [];
    return {
      status,
      userText,
      ...(transcript ? { transcript } : {}),
      text,
      reasoning,
      toolCalls,
      ...(language ? { language } : {}),
      ...(audio ? { audio } : {}),
      notes,
      timings,
      newMessages,
      llmModel: this.deps.llm.model,
    };
  }
}
