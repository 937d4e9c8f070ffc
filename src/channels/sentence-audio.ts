/**
 * A reply's sentences as clips of their own, for a follower that plays the answer while it is still being
 * written (the web page): each sentence's audio is encoded as OGG/Opus the moment it is synthesised, kept in
 * the audio store as `<taskId>_s<n>`, and reported as an `audio` progress event {index, durationSec}.
 *
 * Every progress report of such a turn goes through one chain, so a follower sees them in the order they
 * happened: a clip never arrives after the `retract` that took its sentence back. Channels that do not ask
 * for clips (Telegram, Discord) keep their reports as they were and pay nothing.
 */
import { encodeAudio } from '../audio/index.js';
import type { Logger } from '../observability/logger.js';
import type { PcmAudio } from '../providers/types.js';
import type { AudioStore } from './audio-store.js';

/** The audio store id of sentence `index`'s clip of a task's reply. */
export function sentenceClipId(taskId: string, index: number): string {
  return `${taskId}_s${index}`;
}

export interface ProgressReporter {
  /** Reports a progress event, after every earlier one. */
  report(stage: string, data: unknown): void;
  /** Encodes and keeps a sentence's clip, then reports it (or that it could not be made). */
  clip(index: number, durationSec: number, pcm: PcmAudio): void;
  /** Resolves once everything reported so far is recorded. */
  settled(): Promise<void>;
}

export function progressReporter(options: {
  taskId: string;
  reportProgress: (stage: string, data?: unknown) => Promise<void>;
  /** Where clips go; without it no clip is made. */
  audio?: AudioStore;
  logger: Logger;
}): ProgressReporter {
  const { taskId, reportProgress, audio, logger } = options;
  let chain: Promise<void> = Promise.resolve();
  const then = (step: () => Promise<void>) => {
    chain = chain.then(step).catch(() => undefined);
  };
  return {
    report(stage, data) {
      then(() => reportProgress(stage, data));
    },
    clip(index, durationSec, pcm) {
      if (!audio) return;
      // encoding starts at once; only the report waits for its turn
      const saved = encodeAudio(pcm, 'ogg').then((data) =>
        audio.save(sentenceClipId(taskId, index), data, 'ogg'),
      );
      saved.catch((err: unknown) =>
        logger.warn({ err: String(err), sentence: index }, 'sentence clip failed'),
      );
      then(() =>
        saved.then(
          () => reportProgress('audio', { index, durationSec: Math.round(durationSec * 1000) / 1000 }),
          () => reportProgress('audio', { index, failed: true }),
        ),
      );
    },
    settled: () => chain,
  };
}
