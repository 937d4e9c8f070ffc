import fs from 'node:fs/promises';
import type { Command } from 'commander';
import { decodeAudio, detectSpeech } from '../../audio/index.js';
import { createSpeechToText } from '../../providers/factory.js';
import { cliContext } from '../context.js';

export function register(program: Command): void {
  program
    .command('transcribe')
    .description('Transcribe an audio file (speech-to-text only)')
    .argument('<file>', 'audio file (ogg, mp3, m4a, webm, wav, flac, …)')
    .option('-l, --language <code>', 'language hint (default: auto)')
    .option('--json', 'print the transcript with language, segments and timings as JSON')
    .action(async (file: string, opts: { language?: string; json?: boolean }) => {
      const { config, logger } = cliContext();
      const input = await fs.readFile(file).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`cannot read ${file}: ${err.code ?? err.message}`);
      });
      const t0 = performance.now();
      const decoded = await decodeAudio(input, {
        maxBytes: config.audioMaxBytes,
        maxSeconds: config.audioMaxSeconds,
        logger,
      });
      const decodeMs = performance.now() - t0;
      const vad = detectSpeech(decoded.pcm, {
        thresholdDb: config.vadThresholdDb,
        minSpeechMs: config.vadMinSpeechMs,
      });
      const stt = await createSpeechToText(config, { logger, progress: !opts.json });
      try {
        const t1 = performance.now();
        const transcript = await stt.transcribe(decoded.pcm, {
          language: opts.language ?? config.sttLanguage,
        });
        const sttMs = performance.now() - t1;
        if (opts.json) {
          process.stdout.write(
            JSON.stringify(
              {
                ...transcript,
                provider: stt.name,
                speechDetected: vad.hasSpeech,
                durationSec: decoded.durationSec,
                timings: { decodeMs, sttMs },
              },
              null,
              2,
            ) + '\n',
          );
        } else {
          if (!vad.hasSpeech) process.stderr.write('note: no speech detected in this file\n');
          process.stdout.write((transcript.text || '(nothing recognised)') + '\n');
        }
      } finally {
        await stt.close();
      }
    });
}
