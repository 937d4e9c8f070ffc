/**
 * Speech-to-text with whisper.cpp in-process (@fugood/whisper.node), from a ggml model file such as
 * ggml-base.en.bin.
 *
 * The model is loaded once and kept. whisper.cpp runs one transcription at a time per context, and
 * each waiting call would park a libuv pool thread (starving file and DNS work), so requests queue here
 * in JS instead and reach the engine one by one.
 *
 * Cancelling: whisper.node cannot interrupt a running transcription (and its `stop()` leaves the call
 * unsettled), so an aborted request is rejected at once while the engine finishes that pass in the
 * background; the next request starts after it. Decoding is greedy with no temperature fallback, so a
 * pass is bounded by the audio length (at most ~220 tokens per 30 s window).
 */
import os from 'node:os';
import type { PcmAudio, SpeechToText, Transcript, TranscribeOptions, TranscriptSegment } from '../types.js';
import { ModelError, ProviderError } from '../../util/errors.js';
import { abortReason, throwIfAborted } from '../../util/abort.js';
import { getLogger, type Logger } from '../../observability/logger.js';
import {
  captureNativeLog,
  drainNativeLog,
  loadWhisperBinding,
  type NativeLogHandler,
  type WhisperNativeContext,
  type WhisperTranscribeResult,
} from './whisper-binding.js';
import { readWhisperModelHeader, type WhisperModelHeader } from './whisper-model-file.js';
import { whisperLanguage } from './whisper-language.js';
import { toWhisperPcm } from './whisper-pcm.js';

export interface WhisperSpeechToTextOptions {
  /** The ggml model file, or a function that produces its path on first load (finding or downloading it). */
  modelPath: string | (() => Promise<string>);
  /** Default language when a request gives none: "auto" (detect; multilingual models only) or a code. */
  language?: string;
  /** CPU threads for whisper.cpp; default: available cores, at most 8 (more rarely helps). */
  threads?: number;
  logger?: Logger;
}

interface LoadedModel {
  path: string;
  header: WhisperModelHeader;
  ctx: WhisperNativeContext;
}

/**
 * How long a pass may run before the queue stops waiting for it. whisper.node never settles the promise
 * of a pass that fails inside whisper.cpp; without a limit, one such failure would block every later
 * request. Callers have their own, shorter stage timeout; this only frees the queue, so it is generous:
 * every pass encodes a full 30 s window, which a large model on a slow CPU can take minutes over.
 */
const stallLimitMs = (audioSec: number) => Math.max(10 * 60_000, audioSec * 20_000);

export class WhisperSpeechToText implements SpeechToText {
  readonly name = 'whisper';
  private readonly options: WhisperSpeechToTextOptions;
  private readonly logger: Logger;
  private readonly threads: number;
  private loading: Promise<LoadedModel> | undefined;
  /** Tail of the work on the context; each request (and close) waits for the one before it. */
  private queue: Promise<void> = Promise.resolve();
  /** Log captures of passes that outlived stallLimitMs; released when they end, or at close(). */
  private readonly lingeringLogCaptures = new Set<() => void>();

  constructor(options: WhisperSpeechToTextOptions) {
    this.options = options;
    this.logger = (options.logger ?? getLogger()).child({ provider: this.name });
    this.threads = Math.max(1, Math.floor(options.threads ?? Math.min(8, os.availableParallelism())));
  }

  async load(): Promise<void> {
    await this.model();
  }

  async transcribe(audio: PcmAudio, options: TranscribeOptions = {}): Promise<Transcript> {
    const { signal } = options;
    throwIfAborted(signal);
    if (audio.samples.length === 0) return { text: '', segments: [] };
    const pcm = toWhisperPcm(audio);
    const audioSec = audio.samples.length / audio.sampleRate;
    const hint = options.language ?? this.options.language;

    const job = this.turn(async () => {
      throwIfAborted(signal); // cancelled while waiting in line: never start
      const model = await this.model();
      return this.run(model, pcm, hint, audioSec);
    });
    return untilAborted(job, signal);
  }

  async close(): Promise<void> {
    await this.turn(async () => {
      const loading = this.loading;
      this.loading = undefined;
      const model = await loading?.catch(() => undefined);
      await model?.ctx.release();
      for (const release of this.lingeringLogCaptures) release();
      this.lingeringLogCaptures.clear();
    });
  }

  /** The loaded model; concurrent callers share one load, and a failed load is retried next time. */
  private model(): Promise<LoadedModel> {
    if (!this.loading) {
      const loading = this.loadModel();
      this.loading = loading;
      loading.catch(() => {
        if (this.loading === loading) this.loading = undefined;
      });
    }
    return this.loading;
  }

  private async loadModel(): Promise<LoadedModel> {
    const t0 = performance.now();
    const { modelPath } = this.options;
    const path = typeof modelPath === 'string' ? modelPath : await modelPath();
    const header = await readWhisperModelHeader(path);

    let pkg, native;
    try {
      pkg = await loadWhisperBinding();
      native = await pkg.loadWhisperModule();
    } catch (err) {
      throw new ProviderError(
        this.name,
        `cannot load whisper.cpp (@fugood/whisper.node): ${errorText(err)}`,
        {
          code: 'stt_engine_missing',
          userMessage: 'Speech recognition is not set up on this server.',
          cause: err,
        },
      );
    }

    // The constructor reads the whole file on this thread (tens of ms for base.en, more for larger
    // models); whisper.node offers no asynchronous load.
    const nativeErrors: string[] = [];
    const releaseLog = captureNativeLog(pkg, this.nativeLogHandler(nativeErrors));
    let ctx: WhisperNativeContext | undefined;
    let failure: unknown;
    try {
      ctx = new native.WhisperContext({ filePath: path });
    } catch (err) {
      failure = err;
    }
    await drainNativeLog();
    releaseLog();
    if (!ctx) {
      // The first native error says what is wrong; the ones after it only say that loading failed.
      const reason = nativeErrors[0] ?? errorText(failure);
      throw new ModelError(
        'model_invalid',
        `Whisper model ${path} could not be loaded (${reason}); the file may be damaged or not a whisper.cpp model — delete it and download it again`,
        failure,
      );
    }
    this.logger.info(
      { path, multilingual: header.multilingual, ms: Math.round(performance.now() - t0) },
      'whisper model loaded',
    );
    return { path, header, ctx };
  }

  /** One pass of whisper.cpp over the clip. Resolves or rejects only once the engine is done with it. */
  private async run(
    model: LoadedModel,
    pcm: ArrayBuffer,
    hint: string | undefined,
    audioSec: number,
  ): Promise<Transcript> {
    const language = this.engineLanguage(model.header, hint);
    const t0 = performance.now();
    const releaseLog = captureNativeLog(await loadWhisperBinding(), this.nativeLogHandler());
    let timer: NodeJS.Timeout | undefined;
    let native: Promise<WhisperTranscribeResult> | undefined;
    let stalled = false;
    try {
      native = model.ctx.transcribeData(pcm, {
        language,
        maxThreads: this.threads,
        temperature: 0,
        temperatureInc: 0, // no re-decoding at higher temperatures: keeps a pass bounded
      }).promise;
      const limitMs = stallLimitMs(audioSec);
      const stall = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          stalled = true;
          reject(new ProviderError(this.name, `transcription did not finish within ${limitMs} ms`));
        }, limitMs);
      });
      const result = await Promise.race([native, stall]);
      this.logger.debug(
        { audioSec: round2(audioSec), ms: Math.round(performance.now() - t0), language: result.language },
        'whisper transcribed',
      );
      return toTranscript(result, model.header.multilingual ? language : 'en', audioSec);
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      throw new ProviderError(this.name, `transcription failed: ${errorText(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
      if (stalled && native) {
        // The engine may still be running and logging; dropping the log bridge under a native thread
        // is unsafe, so keep it until the pass ends (or close()).
        this.lingeringLogCaptures.add(releaseLog);
        void native
          .catch(() => undefined)
          .then(drainNativeLog)
          .then(() => {
            this.lingeringLogCaptures.delete(releaseLog);
            releaseLog();
          });
      } else {
        await drainNativeLog();
        releaseLog();
      }
    }
  }

  /** The language argument for whisper.cpp: English-only models always get "en" (detection would only guess). */
  private engineLanguage(header: WhisperModelHeader, hint: string | undefined): string {
    const language = whisperLanguage(hint);
    if (!header.multilingual) {
      if (language !== 'auto' && language !== 'en') {
        this.logger.debug({ hint }, 'English-only whisper model: transcribing as English');
      }
      return 'en';
    }
    if (language === undefined) {
      this.logger.warn({ hint }, 'language unknown to whisper; detecting it instead');
      return 'auto';
    }
    return language;
  }

  /** whisper.cpp's own log lines, as June log records; error lines are also collected into `errors`. */
  private nativeLogHandler(errors?: string[]): NativeLogHandler {
    return (level, text) => {
      const line = text.trim();
      if (!line) return;
      if (level === 'error') errors?.push(line);
      if (level === 'error' || level === 'warn') this.logger.warn({ native: line }, 'whisper.cpp');
      else this.logger.trace({ native: line }, 'whisper.cpp');
    };
  }

  /** Runs `fn` after all earlier work on the context; later work waits for it to settle. */
  private turn<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn);
    this.queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/**
 * whisper.cpp's text with what is not speech taken out: special-token spellings, its "[BLANK_AUDIO]"
 * marker for silence, and U+FFFD left where a multi-byte character was split between tokens.
 */
export function cleanWhisperText(text: string): string {
  return text
    .replace(/<\|[^|>]*\|>/g, ' ')
    .replace(/\[BLANK_AUDIO\]/g, ' ')
    .replace(/\uFFFD/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function toTranscript(result: WhisperTranscribeResult, language: string, audioSec: number): Transcript {
  const clampSec = (ms: number) => round2(Math.min(audioSec, Math.max(0, ms / 1000)));
  const segments: TranscriptSegment[] = [];
  for (const s of result.segments) {
    const text = cleanWhisperText(s.text);
    if (text) segments.push({ startSec: clampSec(s.t0), endSec: clampSec(s.t1), text });
  }
  const detected = language === 'auto' ? result.language || undefined : language;
  return { text: cleanWhisperText(result.result), ...(detected ? { language: detected } : {}), segments };
}

/** `job`, or the abort reason as soon as the signal fires (the job keeps running; its outcome is dropped). */
function untilAborted<T>(job: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return job;
  job.catch(() => undefined); // an abandoned job's failure is nobody's unhandled rejection
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    job.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
