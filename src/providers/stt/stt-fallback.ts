/**
 * JUNE_STT=auto's safety net: Whisper (downloaded on first run) answers, and when its model cannot be
 * had or fails to load (offline with nothing cached, a failed download, a broken file), pocketsphinx
 * answers instead of nothing. The switch is said once in the log (and by `june doctor`); `fellBack`
 * tells callers which engine is answering.
 */
import type { PcmAudio, SpeechToText, Transcript, TranscribeOptions } from '../types.js';
import { CancelledError } from '../../util/errors.js';
import type { Logger } from '../../observability/logger.js';

export interface SttWithFallbackOptions {
  primary: SpeechToText;
  /** Built only when needed. */
  fallback: () => Promise<SpeechToText>;
  logger?: Logger;
}

export class SpeechToTextWithFallback implements SpeechToText {
  private active: Promise<SpeechToText> | undefined;
  private current: SpeechToText;
  /** Why the primary engine is not answering, once it failed; undefined while it answers. */
  fellBack: string | undefined;

  constructor(private readonly options: SttWithFallbackOptions) {
    this.current = options.primary;
  }

  get name(): string {
    return this.current.name;
  }

  private engine(): Promise<SpeechToText> {
    this.active ??= this.options.primary.load().then(
      () => this.options.primary,
      async (err: unknown) => {
        if (err instanceof CancelledError) {
          this.active = undefined;
          throw err;
        }
        this.fellBack = err instanceof Error ? err.message : String(err);
        this.options.logger?.warn(
          { err: this.fellBack },
          `speech-to-text: ${this.options.primary.name} cannot be had; pocketsphinx answers instead (less accurate)`,
        );
        const fallback = await this.options.fallback();
        await fallback.load();
        this.current = fallback;
        return fallback;
      },
    );
    return this.active;
  }

  async load(): Promise<void> {
    await this.engine();
  }

  async transcribe(audio: PcmAudio, options?: TranscribeOptions): Promise<Transcript> {
    return (await this.engine()).transcribe(audio, options);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.options.primary.close(), this.current.close()]);
  }
}
