/**
 * JUNE_STT=auto's safety net: Whisper (downloaded on first run) answers, and when its model cannot be
 * had or fails to load (offline with nothing cached, a failed download, a broken file), pocketsphinx
 * answers instead of nothing. The switch is said once in the log (and by `june doctor`), and every
 * transcript pocketsphinx makes in Whisper's place carries a note for the user (`Transcript.note`, which
 * the pipeline puts in the reply's notes): its words are much less reliable. `fellBack` tells callers
 * which engine is answering.
 */
import type { PcmAudio, SpeechToText, Transcript, TranscribeOptions } from '../types.js';
import { CancelledError } from '../../util/errors.js';
import type { Logger } from '../../observability/logger.js';

export interface SttWithFallbackOptions {
  primary: SpeechToText;
  /**
   * Set when the primary is known from the start not to be had (offline with no model cached): why, in a
   * few words. The fallback then answers from the first request and the primary is never loaded.
   */
  unavailable?: string;
  /** Built only when needed. */
  fallback: () => Promise<SpeechToText>;
  logger?: Logger;
}

/** The note a transcript made by the stand-in carries; `why` is a short reason without details. */
export function standInNote(wanted: string, why: string): string {
  return (
    `Heard by pocketsphinx, a much less accurate speech recogniser, because ${wanted} ${why}; ` +
    'I may have misheard. `june doctor` says how to fix it.'
  );
}

export class SpeechToTextWithFallback implements SpeechToText {
  private active: Promise<SpeechToText> | undefined;
  private current: SpeechToText;
  /** Why the primary engine is not answering, once it failed; undefined while it answers. */
  fellBack: string | undefined;
  private note: string | undefined;

  constructor(private readonly options: SttWithFallbackOptions) {
    this.current = options.primary;
  }

  get name(): string {
    return this.current.name;
  }

  private engine(): Promise<SpeechToText> {
    const { primary, unavailable } = this.options;
    this.active ??= (
      unavailable === undefined ? primary.load() : Promise.reject(new Error(unavailable))
    ).then(
      () => primary,
      async (err: unknown) => {
        if (err instanceof CancelledError) {
          this.active = undefined;
          throw err;
        }
        this.fellBack = err instanceof Error ? err.message : String(err);
        this.options.logger?.warn(
          { err: this.fellBack },
          `speech-to-text: ${primary.name} cannot be had; pocketsphinx answers instead (less accurate)`,
        );
        const fallback = await this.options.fallback();
        await fallback.load();
        this.current = fallback;
        this.note = standInNote(
          primary.name === 'whisper' ? 'the Whisper model' : primary.name,
          unavailable === undefined
            ? 'could not be downloaded or loaded'
            : 'is not downloaded and downloads are off (JUNE_OFFLINE)',
        );
        return fallback;
      },
    );
    return this.active;
  }

  async load(): Promise<void> {
    await this.engine();
  }

  async transcribe(audio: PcmAudio, options?: TranscribeOptions): Promise<Transcript> {
    const engine = await this.engine();
    const transcript = await engine.transcribe(audio, options);
    return engine !== this.options.primary && this.note ? { ...transcript, note: this.note } : transcript;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.options.primary.close(), this.current.close()]);
  }
}
