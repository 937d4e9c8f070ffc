/**
 * The voice turn, orchestrated: each README stage lives in its own file, and this one only runs them in
 * order and assembles the result.
 *
 *   decode → VAD → STT       hear.ts     (audio turns only)
 *   LLM (streaming)          think.ts    (sentences go to TTS as they are final)
 *   TTS → encode             speak.ts    (tts-stream.ts speaks while the LLM still writes)
 *   every stage's frame      stage.ts    (runStage: events, span, time limit, busy time, metric)
 *
 * Text turns use the same path without the audio stages.
 *
 * Errors: bad audio and LLM failures throw typed JuneErrors (the task layer decides about retries);
 * TTS failures degrade to a text-only reply with a note; no speech / an empty transcript get a fixed
 * "please repeat" reply without calling the LLM.
 */
import { preloadOpusCodec } from '../audio/index.js';
import { getLogger, type Logger } from '../observability/logger.js';
import { voiceMetrics, type VoiceMetrics } from '../observability/metrics.js';
import { recordSpanError, startSpan } from '../observability/tracing.js';
import type { ChatMessage, ToolCall, Transcript } from '../providers/types.js';
import { CancelledError, toJuneError } from '../util/errors.js';
import { hear } from './hear.js';
import { unionLength } from './intervals.js';
import { REPLIES } from './replies.js';
import { SentenceSegmenter } from './sentence-segmenter.js';
import { toSpeakable } from './speakable.js';
import { think } from './think.js';
import { finishSpeaking, startSpeaking, type Spoken } from './speak.js';
import { TurnClock, type TurnFrame, type VoicePipelineDeps } from './turn-context.js';
import type {
  ReplyAudio,
  ReplyFormat,
  TurnEvent,
  TurnInput,
  TurnResult,
  TurnStatus,
  TurnTimings,
} from './types.js';

/** One turn as the pipeline runs it: the stages' shared frame, plus what only the pipeline reads. */
interface Turn extends TurnFrame {
  input: TurnInput;
  timings: Partial<TurnTimings>;
}

export type { PipelineConfig, VoicePipelineDeps } from './turn-context.js';

interface Answer {
  status: TurnStatus;
  userText: string;
  transcript?: Transcript;
  text: string;
  reasoning: string;
  toolCalls: TurnResult['toolCalls'];
  language?: string;
  audio?: TurnResult['audio'];
  notes: string[];
  userMessage?: ChatMessage;
}

export class VoicePipeline {
  private readonly logger: Logger;
  private readonly metrics: VoiceMetrics;

  constructor(private readonly deps: VoicePipelineDeps) {
    this.logger = deps.logger ?? getLogger();
    this.metrics = deps.metrics ?? voiceMetrics();
  }

  /** Loads every model (and the in-process Opus codec) so the first turn is fast. */
  async warmUp(): Promise<void> {
    await Promise.all([this.deps.stt.load(), this.deps.llm.load(), this.deps.tts.load(), preloadOpusCodec()]);
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
    const turn: Turn = {
      input,
      clock: new TurnClock(emit),
      root: startSpan('voice.turn', undefined, { 'june.platform': platform, 'june.input': input.kind }),
      emit,
      signal: input.signal,
      timings: {},
      stage: 'pipeline',
    };
    try {
      const answer = await this.answer(turn);
      const result = this.toResult(turn, answer);
      this.metrics.messagesProcessed.inc({ platform, status: result.status });
      this.metrics.voiceProcessingDuration.observe({ platform }, result.timings.totalMs / 1000);
      const firstAudioMs = result.timings.timeToFirstAudioMs;
      if (firstAudioMs !== undefined)
        this.metrics.timeToFirstAudio.observe({ platform }, firstAudioMs / 1000);
      turn.root.setAttributes({ 'june.status': result.status, 'june.total_ms': result.timings.totalMs });
      this.logger.info({ platform, status: result.status, timings: result.timings }, 'turn done');
      return result;
    } catch (err) {
      const e = toJuneError(err);
      this.metrics.messagesProcessed.inc({
        platform,
        status: e instanceof CancelledError ? 'cancelled' : 'error',
      });
      this.metrics.errors.inc({ service: turn.stage, error_type: e.code });
      recordSpanError(turn.root, e);
      this.logger.warn({ platform, stage: turn.stage, code: e.code, err: e.message }, 'turn failed');
      throw e;
    } finally {
      turn.root.end();
    }
  }

  private async answer(turn: Turn): Promise<Answer> {
    const { input } = turn;
    const { config } = this.deps;
    const engines = { ...this.deps, logger: this.logger, metrics: this.metrics };
    const { speak } = input;
    const languageHint = input.language ?? config.sttLanguage;
    let transcript: Transcript | undefined;
    let userText: string;
    const notes: string[] = [];

    if (input.kind === 'audio') {
      const { heard, timings } = await hear(engines, turn, input.audio, languageHint);
      Object.assign(turn.timings, timings);
      if (heard.kind === 'no_speech')
        return this.canned(turn, 'no_speech', REPLIES.noSpeech, undefined, speak);
      // how it was heard (e.g. a less accurate engine stood in): the user is told with the reply
      const heardNote = heard.transcript.note;
      if (heardNote) {
        notes.push(heardNote);
        turn.emit({ type: 'note', message: heardNote });
      }
      if (heard.kind === 'empty_transcript')
        return this.canned(turn, 'empty_transcript', REPLIES.emptyTranscript, heard.transcript, speak, notes);
      transcript = heard.transcript;
      userText = heard.text;
    } else {
      userText = input.text.trim();
    }

    const language = transcript?.language ?? (languageHint !== 'auto' ? languageHint : undefined);
    const userMessage: ChatMessage = { role: 'user', content: userText };
    const messages: ChatMessage[] = [
      { role: 'system', content: config.systemPrompt },
      ...(input.history ?? []),
      userMessage,
    ];

    const tts = speak ? startSpeaking(engines, turn, language) : undefined;
    let reply;
    try {
      const tools = (input.tools ?? []).map((t) => t.definition);
      const thought = await think(engines, turn, messages, tts, tools);
      Object.assign(turn.timings, thought.timings);
      reply = thought.reply;
    } catch (err) {
      tts?.abort();
      void tts?.finish(); // ends the TTS span; the outcome no longer matters
      throw err;
    }

    let text = reply.text.trim();
    if (text) reply.pushSentences(reply.flush());
    // the caller's tools the model called: what they answer is said after the model's own words
    const told = await this.runTools(input, reply.toolCalls).catch((err: unknown) => {
      tts?.abort();
      void tts?.finish();
      throw err;
    });
    if (told.length) {
      reply.pushSentences(told);
      text = [text, ...told].filter(Boolean).join('\n\n');
    }
    if (!text) {
      text = REPLIES.emptyAnswer;
      notes.push('The model produced no answer text (only reasoning or nothing).');
      reply.pushSentences([text]);
    }
    const audio = tts
      ? this.spoken(turn, await finishSpeaking(engines, turn, tts, this.format(turn)), notes)
      : undefined;
    return {
      status: 'ok',
      userText,
      ...(transcript ? { transcript } : {}),
      text,
      reasoning: reply.reasoning,
      toolCalls: reply.toolCalls,
      ...(language ? { language } : {}),
      ...(audio ? { audio } : {}),
      notes,
      userMessage,
    };
  }

  /** Runs the calls of the caller's tools, in order; calls of tools it did not offer are ignored. */
  private async runTools(input: TurnInput, calls: ToolCall[]): Promise<string[]> {
    const told: string[] = [];
    for (const call of calls) {
      const tool = input.tools?.find((t) => t.definition.name === call.name);
      if (!tool) continue;
      const said = (await tool.call(call.arguments)).trim();
      if (said) told.push(said);
    }
    return told;
  }

  /**
   * Speaks a given text (no LLM), e.g. a coding run's summary for a user who asked by voice: the same
   * TTS and encode stages as a turn's reply. Undefined when there is nothing to say or TTS failed.
   */
  async speakText(
    text: string,
    options: { language?: string; format?: ReplyFormat; signal?: AbortSignal } = {},
  ): Promise<ReplyAudio | undefined> {
    const engines = { ...this.deps, logger: this.logger, metrics: this.metrics };
    const emit = () => undefined;
    const turn: TurnFrame = {
      clock: new TurnClock(emit),
      root: startSpan('voice.speak', undefined, { 'june.text_length': text.length }),
      emit,
      signal: options.signal,
      stage: 'tts',
    };
    try {
      const tts = startSpeaking(engines, turn, options.language, { quiet: true });
      const segmenter = new SentenceSegmenter();
      for (const sentence of [...segmenter.push(text), ...segmenter.flush()]) {
        const speakable = toSpeakable(sentence);
        if (speakable) tts.push(speakable);
      }
      const format = options.format ?? this.deps.config.replyFormat;
      return (await finishSpeaking(engines, turn, tts, format)).audio;
    } finally {
      turn.root.end();
    }
  }

  /** A fixed reply (no LLM call), spoken when the turn speaks. */
  private async canned(
    turn: Turn,
    status: TurnStatus,
    text: string,
    transcript: Transcript | undefined,
    speak: boolean,
    notes: string[] = [],
  ): Promise<Answer> {
    let audio: TurnResult['audio'];
    if (speak) {
      const engines = { ...this.deps, logger: this.logger, metrics: this.metrics };
      const tts = startSpeaking(engines, turn, transcript?.language, { quiet: true });
      tts.push(text);
      audio = this.spoken(turn, await finishSpeaking(engines, turn, tts, this.format(turn)), notes);
    }
    return {
      status,
      userText: transcript?.text.trim() ?? '',
      ...(transcript ? { transcript } : {}),
      text,
      reasoning: '',
      toolCalls: [],
      ...(transcript?.language ? { language: transcript.language } : {}),
      ...(audio ? { audio } : {}),
      notes,
    };
  }

  private format(turn: Turn) {
    return turn.input.replyFormat ?? this.deps.config.replyFormat;
  }

  /** Takes in what speaking gave: its timings, and its note when there is no voice. */
  private spoken(turn: Turn, spoken: Spoken, notes: string[]): TurnResult['audio'] {
    Object.assign(turn.timings, spoken.timings);
    if (spoken.note) notes.push(spoken.note);
    return spoken.audio;
  }

  private toResult(turn: Turn, a: Answer): TurnResult {
    const totalMs = turn.clock.now();
    const timings: TurnTimings = {
      ...turn.timings,
      totalMs,
      overheadMs: Math.max(0, totalMs - unionLength(turn.clock.busy)),
    };
    const newMessages: ChatMessage[] = a.userMessage
      ? [
          a.userMessage,
          { role: 'assistant', content: a.text, ...(a.toolCalls.length ? { toolCalls: a.toolCalls } : {}) },
        ]
      : [];
    const { userMessage: _u, ...rest } = a;
    return { ...rest, timings, newMessages, llmModel: this.deps.llm.model };
  }
}
