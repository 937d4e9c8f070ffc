/**
 * Text-to-speech with sherpa-onnx, in-process: one neural voice (Kokoro, Piper/VITS or Matcha-TTS with
 * a vocoder) from a local model directory.
 *
 * Off the event loop: the model loads and speaks on libuv's thread pool (sherpa-onnx's async API), so
 * accepting messages goes on while a reply is synthesised. Calls on one voice are queued, one at a time:
 * the engine's phonemizer (espeak-ng) keeps global state, and on a small machine two syntheses at once
 * would only share the same cores. A cancelled call rejects at once and stops the engine at its next
 * sentence boundary.
 *
 * Which voice to use for which language, downloads and the espeak-ng fallback are decided above this
 * class (sherpa-auto.ts); this one speaks with the voice it was given.
 */
import type { PcmAudio, SynthesizeOptions, TextToSpeech } from '../types.js';
import { ProviderError } from '../../util/errors.js';
import { abortReason, throwIfAborted } from '../../util/abort.js';
import { getLogger, type Logger } from '../../observability/logger.js';
import { sherpaOnnx, type SherpaOfflineTts } from './sherpa-binding.js';
import { sherpaConfigFor, voiceFamily, type LocalSherpaVoice } from './sherpa-model-dir.js';
import { cleanSpeechText, isUnspeakable } from './speech-text.js';

const PROVIDER = 'sherpa-onnx';

export interface SherpaTtsOptions {
  voice: LocalSherpaVoice;
  /** Speaker: a number (speaker id) or a name the voice lists (Kokoro "af_bella"); default speaker 0. */
  speaker?: string;
  /** Speed factor, 1 = the model's own pace. */
  speed?: number;
  /** CPU threads of one synthesis (default 1). */
  threads?: number;
  logger?: Logger;
}

export class SherpaTextToSpeech implements TextToSpeech {
  readonly name = PROVIDER;
  private readonly options: SherpaTtsOptions;
  private readonly logger: Logger;
  private engine: Promise<SherpaOfflineTts> | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: SherpaTtsOptions) {
    this.options = options;
    this.logger = (options.logger ?? getLogger()).child({ provider: PROVIDER, voice: options.voice.name });
  }

  /** The voice being used (for logs and `june doctor`). */
  get voiceName(): string {
    return this.options.voice.name;
  }

  /** Loads the model (on the thread pool). Idempotent; a failed load is tried again by the next call. */
  async load(): Promise<void> {
    this.engine ??= this.createEngine();
    try {
      await this.engine;
    } catch (err) {
      this.engine = undefined;
      throw err;
    }
  }

  async synthesize(text: string, options: SynthesizeOptions = {}): Promise<PcmAudio> {
    const { signal } = options;
    throwIfAborted(signal);
    const cleaned = cleanSpeechText(text);
    await this.load();
    const engine = await this.engine!;
    if (isUnspeakable(cleaned)) return { sampleRate: engine.sampleRate, samples: new Float32Array(0) };
    const sid =
      options.voice !== undefined
        ? this.speakerId(options.voice, engine.numSpeakers)
        : this.defaultSpeaker(engine.numSpeakers);
    return this.generate(engine, cleaned, sid, signal);
  }

  async close(): Promise<void> {
    // The addon frees the model when the engine object is collected; drop it and refuse new work.
    this.closed = true;
    this.engine = undefined;
    await this.queue;
  }

  private async createEngine(): Promise<SherpaOfflineTts> {
    if (this.closed) throw new ProviderError(PROVIDER, 'voice is closed', { code: 'tts_engine_failed' });
    const { voice } = this.options;
    const config = sherpaConfigFor(voice, this.options.threads ?? 1);
    const t0 = performance.now();
    let engine: SherpaOfflineTts;
    try {
      engine = await sherpaOnnx().OfflineTts.createAsync(config);
    } catch (err) {
      throw new ProviderError(PROVIDER, `cannot load voice ${voice.name}: ${(err as Error).message}`, {
        code: 'tts_engine_failed',
        userMessage: 'The voice could not be loaded, so here is my reply as text.',
        cause: err,
      });
    }
    this.logger.info(
      {
        family: voiceFamily(voice),
        sampleRate: engine.sampleRate,
        speakers: engine.numSpeakers,
        ms: Math.round(performance.now() - t0),
      },
      'sherpa-onnx voice loaded',
    );
    return engine;
  }

  /**
   * Queues one synthesis. The caller's promise settles on abort at once; the queue itself moves on only
   * when the engine has really stopped, so two syntheses never overlap on one voice.
   */
  private generate(
    engine: SherpaOfflineTts,
    text: string,
    sid: number,
    signal: AbortSignal | undefined,
  ): Promise<PcmAudio> {
    return new Promise<PcmAudio>((resolve, reject) => {
      const onAbort = () => reject(abortReason(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue = this.queue.then(async () => {
        if (signal?.aborted) return;
        const t0 = performance.now();
        try {
          const audio = await engine.generateAsync({
            text,
            sid,
            speed: this.options.speed ?? 1,
            // Called between sentences on the main thread: 0 stops the engine.
            onProgress: () => (signal?.aborted ? 0 : 1),
          });
          const samples = audio.samples;
          for (let i = 0; i < samples.length; i++) {
            const v = samples[i]!;
            if (v > 1) samples[i] = 1;
            else if (v < -1) samples[i] = -1;
          }
          this.logger.debug(
            {
              chars: text.length,
              audioSec: samples.length / audio.sampleRate,
              ms: Math.round(performance.now() - t0),
            },
            'sherpa-onnx synthesized',
          );
          resolve({ sampleRate: audio.sampleRate, samples });
        } catch (err) {
          reject(
            new ProviderError(PROVIDER, `synthesis failed: ${(err as Error).message}`, {
              code: 'tts_engine_failed',
              userMessage: 'I could not speak that reply, so here it is as text.',
              cause: err,
            }),
          );
        } finally {
          signal?.removeEventListener('abort', onAbort);
        }
      });
    });
  }

  private warnedSpeaker = false;

  /**
   * The configured speaker (JUNE_TTS_VOICE), or 0 when the voice has no such speaker: the setting may
   * name an espeak-ng voice ("en-us") from before, which must not silence every reply.
   */
  private defaultSpeaker(numSpeakers: number): number {
    try {
      return this.speakerId(this.options.speaker, numSpeakers);
    } catch (err) {
      if (!this.warnedSpeaker) {
        this.warnedSpeaker = true;
        this.logger.warn({ speaker: this.options.speaker }, `${(err as Error).message}; using speaker 0`);
      }
      return 0;
    }
  }

  private speakerId(speaker: string | undefined, numSpeakers: number): number {
    if (speaker === undefined || speaker === '') return 0;
    const byName = this.options.voice.speakers?.indexOf(speaker) ?? -1;
    const sid = byName >= 0 ? byName : /^\d+$/.test(speaker) ? Number(speaker) : NaN;
    if (!(sid >= 0 && sid < Math.max(1, numSpeakers))) {
      const known = this.options.voice.speakers?.join(', ');
      throw new ProviderError(PROVIDER, `unknown speaker ${JSON.stringify(speaker)}`, {
        code: 'tts_voice_unknown',
        userMessage: `The configured voice is not one of this model's ${numSpeakers} speakers${known ? ` (${known})` : ''}.`,
      });
    }
    return sid;
  }
}
