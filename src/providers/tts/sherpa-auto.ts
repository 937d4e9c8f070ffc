/**
 * The neural voice by default, espeak-ng when it cannot be had (JUNE_TTS=auto).
 *
 * For each sentence the language picks a sherpa-onnx voice (sherpa-voices.ts). The voice is fetched on
 * first use (download with progress into the model cache) and loaded once. When it cannot be had —
 * offline, download failed, the model does not load — the reason is logged ONCE as a warning and
 * espeak-ng speaks instead, for that language, until the process restarts: a reply is spoken rather
 * than not at all. A language with no neural voice is spoken by espeak-ng (logged once, at info).
 * Cancellation is never turned into a fallback.
 *
 * With `strict` (JUNE_TTS=sherpa) there is no fallback: the failure is the answer.
 */
import type { PcmAudio, SynthesizeOptions, TextToSpeech } from '../types.js';
import { CancelledError, ProviderError } from '../../util/errors.js';
import { abortReason, throwIfAborted } from '../../util/abort.js';
import { getLogger, type Logger } from '../../observability/logger.js';

export interface NeuralVoiceOptions {
  /** The voice (model reference) for a language, or undefined when it has none. */
  voiceFor: (language: string | undefined) => string | undefined;
  /** Gets the voice ready to speak: fetches the model if need be and builds the engine (not loaded yet). */
  obtain: (ref: string, signal?: AbortSignal) => Promise<TextToSpeech>;
  /** Speaks when the neural voice cannot (espeak-ng). */
  fallback: TextToSpeech;
  /** No fallback: failures reject (JUNE_TTS=sherpa). */
  strict?: boolean;
  logger?: Logger;
}

/** What the voice of a language is, for `june doctor` and logs. */
export interface VoiceState {
  ref: string | undefined;
  /** Set once the neural voice was found unavailable: why espeak-ng speaks instead. */
  unavailable?: string;
}

export class NeuralVoiceWithFallback implements TextToSpeech {
  readonly name = 'sherpa-onnx';
  private readonly options: NeuralVoiceOptions;
  private readonly logger: Logger;
  private readonly voices = new Map<string, Promise<TextToSpeech>>();
  private readonly unavailable = new Map<string, string>();
  private readonly noVoiceLanguages = new Set<string>();

  constructor(options: NeuralVoiceOptions) {
    this.options = options;
    this.logger = (options.logger ?? getLogger()).child({ provider: 'tts' });
  }

  /** Readies espeak-ng and the default voice (downloading it on first run). Never fails over a missing voice unless strict. */
  async load(): Promise<void> {
    if (!this.options.strict) await this.options.fallback.load();
    await this.neural(undefined);
  }

  async synthesize(text: string, options: SynthesizeOptions = {}): Promise<PcmAudio> {
    throwIfAborted(options.signal);
    const voice = await this.neural(options.language, options.signal);
    if (voice) {
      try {
        return await voice.synthesize(text, options);
      } catch (err) {
        if (this.options.strict || isCancel(err, options.signal)) throw err;
        if (err instanceof ProviderError && err.code === 'tts_voice_unknown') throw err;
        this.warnOnce(`${voice.name}:synthesis`, err);
      }
    }
    return this.options.fallback.synthesize(text, fallbackOptions(options));
  }

  async close(): Promise<void> {
    const voices = await Promise.allSettled(this.voices.values());
    await Promise.allSettled([
      this.options.fallback.close(),
      ...voices.map((v) => (v.status === 'fulfilled' ? v.value.close() : undefined)),
    ]);
  }

  /** The voice for a language and, if it was found unavailable, why. */
  state(language?: string): VoiceState {
    const ref = this.options.voiceFor(language);
    const why = ref ? this.unavailable.get(ref) : undefined;
    return { ref, ...(why ? { unavailable: why } : {}) };
  }

  /** The loaded neural voice for a language, or undefined when espeak-ng must speak. */
  private async neural(
    language: string | undefined,
    signal?: AbortSignal,
  ): Promise<TextToSpeech | undefined> {
    const ref = this.options.voiceFor(language);
    if (!ref) {
      const key = language ?? '';
      if (this.options.strict)
        throw new ProviderError('sherpa-onnx', `no neural voice for language ${language}`, {
          code: 'tts_voice_unknown',
          userMessage: 'There is no voice for this language on this server.',
        });
      if (!this.noVoiceLanguages.has(key)) {
        this.noVoiceLanguages.add(key);
        this.logger.info({ language }, `no neural voice for language ${language}; espeak-ng speaks it`);
      }
      return undefined;
    }
    if (this.unavailable.has(ref)) return undefined;
    let pending = this.voices.get(ref);
    if (!pending) {
      pending = this.options.obtain(ref).then(async (voice) => {
        await voice.load();
        return voice;
      });
      this.voices.set(ref, pending);
    }
    try {
      return await abortable(pending, signal);
    } catch (err) {
      if (isCancel(err, signal)) throw err;
      if (this.voices.get(ref) === pending) this.voices.delete(ref);
      if (this.options.strict) throw err;
      this.unavailable.set(ref, (err as Error).message);
      this.warnOnce(ref, err);
      return undefined;
    }
  }

  private readonly warned = new Set<string>();

  private warnOnce(key: string, err: unknown): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.logger.warn(
      { voice: key, err: (err as Error).message },
      `the neural voice ${key} cannot be had, so espeak-ng speaks instead: ${(err as Error).message}`,
    );
  }
}

/** A sherpa speaker name ("af_bella") means nothing to espeak-ng: it picks its voice by language. */
function fallbackOptions(options: SynthesizeOptions): SynthesizeOptions {
  const { voice: _voice, ...rest } = options;
  return rest;
}

function isCancel(err: unknown, signal: AbortSignal | undefined): boolean {
  return err instanceof CancelledError || signal?.aborted === true;
}

/** Waits for `promise`, or rejects as soon as `signal` aborts (the shared work goes on for others). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
