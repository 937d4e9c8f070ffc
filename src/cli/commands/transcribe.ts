/**
 * `june transcribe FILE`: speech-to-text only, through the same listening path as a voice turn
 * (pipeline/hear.ts): decode, the speech gate (Silero VAD; the energy gate when Silero cannot be had),
 * the silence before and after the speech trimmed, then STT. A file without speech is not transcribed.
 */
import fs from 'node:fs/promises';
import type { Command } from 'commander';
import { Registry } from 'prom-client';
import { voiceMetrics } from '../../observability/metrics.js';
import { startSpan } from '../../observability/tracing.js';
import { hear } from '../../pipeline/hear.js';
import { TurnClock, type TurnFrame } from '../../pipeline/turn-context.js';
import { createSpeechGate, createSpeechToText } from '../../providers/factory.js';
import type { Transcript } from '../../providers/types.js';
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
      const factoryOptions = { logger, progress: !opts.json };
      const [stt, speechGate] = await Promise.all([
        createSpeechToText(config, factoryOptions),
        createSpeechGate(config, factoryOptions),
      ]);
      const emit = () => undefined;
      const turn: TurnFrame = {
        clock: new TurnClock(emit),
        root: startSpan('june.transcribe', undefined, { 'audio.input_bytes': input.length }),
        emit,
        signal: undefined,
        stage: 'decode',
      };
      try {
        const { heard, timings, gate } = await hear(
          { stt, config, logger, metrics: voiceMetrics(new Registry()), speechGate },
          turn,
          input,
          opts.language ?? config.sttLanguage,
        );
        const transcript: Transcript = heard.kind === 'no_speech' ? { text: '' } : heard.transcript;
        if (opts.json) {
          process.stdout.write(
            JSON.stringify(
              {
                ...transcript,
                provider: stt.name,
                speechDetected: heard.kind !== 'no_speech',
                speechGate: gate.by,
                durationSec: timings.inputAudioSec,
                ...(gate.sttAudioSec !== undefined ? { transcribedSec: gate.sttAudioSec } : {}),
                timings: { decodeMs: timings.decodeMs, vadMs: timings.vadMs, sttMs: timings.sttMs },
              },
              null,
              2,
            ) + '\n',
          );
        } else {
          if (heard.kind === 'no_speech') process.stderr.write('note: no speech detected in this file\n');
          if (transcript.note) process.stderr.write(`note: ${transcript.note}\n`);
          process.stdout.write((transcript.text || '(nothing recognised)') + '\n');
        }
      } finally {
        turn.root.end();
        await stt.close();
      }
    });
}
