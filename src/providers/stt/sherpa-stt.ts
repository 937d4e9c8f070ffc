/**
 * Speech-to-text with sherpa-onnx in-process (`sherpa-onnx-node`'s OfflineRecognizer): SenseVoice
 * (multilingual, with language identification), Moonshine (fast on CPU) and NVIDIA Parakeet TDT
 * (a NeMo transducer), chosen with JUNE_STT=sensevoice|moonshine|parakeet.
 *
 * The addon is required only on first load. Model loading and decoding run on the addon's libuv threads;
 * requests queue here one by one so waiting calls do not park pool threads. An aborted request is
 * rejected at once while the engine finishes that pass in the background (it cannot be interrupted).
 */
import type { PcmAudio, SpeechToText, Transcript, TranscribeOptions } from '../types.js';
import { ModelError, ProviderError } from '../../util/errors.js';
import { abortReason, throwIfAborted } from '../../util/abort.js';
import {
  sherpaAsr,
  type SherpaOfflineModelConfig,
  type SherpaOfflineRecognizer,
  type SherpaOfflineResult,
} from './sherpa-stt-binding.js';

export type SherpaSttEngine = 'sensevoice' | 'moonshine' | 'parakeet';

/** The files of each engine's model, as unpacked from its sherpa-onnx release archive. */
export type SherpaSttFiles =
  | { engine: 'sensevoice'; model: string; tokens: string }
  | {
      engine: 'moonshine';
      preprocessor: string;
      encoder: string;
      uncachedDecoder: string;
      cachedDecoder: string;
      tokens: string;
    }
  | { engine: 'parakeet'; encoder: string; decoder: string; joiner: string; tokens: string };

export interface SherpaSpeechToTextOptions {
  /** The model files, or a function that produces them on first load (finding or downloading them). */
  files: SherpaSttFiles | (() => Promise<SherpaSttFiles>);
  /** SenseVoice only: "auto" (default: detect) or zh, en, ja, ko, yue. */
  language?: string;
  threads?: number;
}

const SAMPLE_RATE = 16_000;

/** The OfflineRecognizer model config for `files` (field names as in sherpa-onnx-node's types.js). */
export function sherpaModelConfig(
  files: SherpaSttFiles,
  language: string,
  threads: number,
): SherpaOfflineModelConfig {
  const common = { tokens: files.tokens, numThreads: threads, provider: 'cpu', debug: 0 };
  switch (files.engine) {
    case 'sensevoice':
      return {
        ...common,
        senseVoice: {
          model: files.model,
          language: language === 'auto' ? '' : language,
          useInverseTextNormalization: 1,
        },
      };
    case 'moonshine':
      return {
        ...common,
        moonshine: {
          preprocessor: files.preprocessor,
          encoder: files.encoder,
          uncachedDecoder: files.uncachedDecoder,
          cachedDecoder: files.cachedDecoder,
        },
      };
    case 'parakeet':
      return {
        ...common,
        transducer: { encoder: files.encoder, decoder: files.decoder, joiner: files.joiner },
        modelType: 'nemo_transducer',
      };
  }
}

export class SherpaSpeechToText implements SpeechToText {
  readonly name: string;
  private recognizer: Promise<SherpaOfflineRecognizer> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    engine: SherpaSttEngine,
    private readonly options: SherpaSpeechToTextOptions,
  ) {
    this.name = `sherpa-onnx:${engine}`;
  }

  load(): Promise<void> {
    return this.ensureLoaded().then(() => undefined);
  }

  private ensureLoaded(): Promise<SherpaOfflineRecognizer> {
    this.closed = false;
    this.recognizer ??= this.create().catch((err: unknown) => {
      this.recognizer = undefined; // a later load may succeed (the download finished, the file was fixed)
      throw err;
    });
    return this.recognizer;
  }

  private async create(): Promise<SherpaOfflineRecognizer> {
    const { files, language = 'auto', threads = 2 } = this.options;
    const resolved = typeof files === 'function' ? await files() : files;
    let asr;
    try {
      asr = sherpaAsr();
    } catch (err) {
      throw new ProviderError(
        this.name,
        'sherpa-onnx-node is not installed or its native library failed to load',
        {
          cause: err,
        },
      );
    }
    try {
      return await asr.OfflineRecognizer.createAsync({
        featConfig: { sampleRate: SAMPLE_RATE, featureDim: 80 },
        modelConfig: sherpaModelConfig(resolved, language, threads),
        decodingMethod: 'greedy_search',
      });
    } catch (err) {
      throw new ModelError(
        'model_invalid',
        `The ${this.name} speech model could not be loaded: ${errorText(err)}`,
        err,
      );
    }
  }

  async transcribe(audio: PcmAudio, options: TranscribeOptions = {}): Promise<Transcript> {
    const { signal } = options;
    throwIfAborted(signal);
    if (audio.sampleRate !== SAMPLE_RATE) {
      throw new ProviderError(this.name, `expected 16 kHz audio, got ${audio.sampleRate} Hz`);
    }
    const job = this.queue.then(async () => {
      throwIfAborted(signal); // cancelled while waiting in line: never start
      const recognizer = await this.ensureLoaded();
      throwIfAborted(signal);
      const stream = recognizer.createStream();
      stream.acceptWaveform({ samples: audio.samples, sampleRate: SAMPLE_RATE });
      return toTranscript(await recognizer.decodeAsync(stream));
    });
    this.queue = job.catch(() => undefined);
    return untilAborted(job, signal);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    // The addon frees the recognizer when it is garbage-collected; dropping the reference is the close.
    this.recognizer = undefined;
  }
}

function toTranscript(result: SherpaOfflineResult): Transcript {
  const text = result.text.replace(/<\|[^|]*\|>/g, '').trim();
  const language = /^<\|([a-z]{2,3})\|>$/.exec(result.lang ?? '')?.[1];
  return { text, ...(language ? { language } : {}) };
}

/** `job`, or the abort reason as soon as the signal fires (the job keeps running; its outcome is dropped). */
function untilAborted<T>(job: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return job;
  job.catch(() => undefined);
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
