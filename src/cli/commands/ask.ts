import fs from 'node:fs/promises';
import type { Command } from 'commander';
import { VoicePipeline } from '../../pipeline/voice-pipeline.js';
import type { TurnEvent, TurnResult } from '../../pipeline/types.js';
import { createProviders } from '../../providers/factory.js';
import { cliContext } from '../context.js';
import { formatFromPath, formatTimings } from '../format.js';

interface AskOptions {
  audio?: string;
  out?: string;
  speak?: string;
  json?: boolean;
  language?: string;
  reasoning?: boolean;
}

export function register(program: Command): void {
  program
    .command('ask')
    .description('Ask June something, by text or with an audio file, and get the answer (and a spoken reply)')
    .argument('[text...]', 'the question, as text')
    .option('-a, --audio <file>', 'an audio file to send instead of text (ogg, mp3, m4a, webm, wav, flac)')
    .option('-o, --out <file>', 'write the spoken reply here (format from the extension: .ogg, .mp3, .wav)')
    .option('-s, --speak <file>', 'speak a text answer into this file (same as --out for text questions)')
    .option('-l, --language <code>', 'language hint, e.g. en, fr (default: auto)')
    .option('--reasoning', "also print the model's reasoning (to stderr)")
    .option('--json', 'print one JSON object: transcript, text, timings, …')
    .action(async (words: string[], opts: AskOptions) => {
      const text = words.join(' ').trim();
      if (!text && !opts.audio) throw new Error('nothing to ask: give a question as text, or --audio FILE');
      if (text && opts.audio) throw new Error('give either text or --audio, not both');
      const { config, logger } = cliContext();
      const outFile = opts.out ?? opts.speak;
      const audio = opts.audio ? await readInput(opts.audio) : undefined;

      const providers = await createProviders(config, { logger, progress: !opts.json });
      const pipeline = new VoicePipeline({ ...providers, config, logger });
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      const streamToStdout = !opts.json && !audio && process.stdout.isTTY;
      try {
        const common = {
          platform: 'cli',
          signal: controller.signal,
          speak: Boolean(outFile) || (audio !== undefined && outFile !== undefined),
          ...(outFile ? { replyFormat: formatFromPath(outFile) } : {}),
          ...(opts.language ? { language: opts.language } : {}),
          onEvent: streamToStdout ? streamer() : undefined,
        };
        const result = audio
          ? await pipeline.run({ kind: 'audio', audio, ...common })
          : await pipeline.run({ kind: 'text', text, ...common });
        if (outFile && result.audio) await fs.writeFile(outFile, result.audio.data);
        print(result, opts, Boolean(streamToStdout), outFile);
      } finally {
        process.off('SIGINT', onSigint);
        await providers.close();
      }
    });
}

/** Writes the answer as it streams; a retract (it was the model thinking) erases what was written. */
function streamer(): (e: TurnEvent) => void {
  let shown = '';
  return (e) => {
    if (e.type === 'text_delta') {
      process.stdout.write(e.text);
      shown += e.text;
    } else if (e.type === 'retract' && shown) {
      process.stdout.write(eraseSequence(shown, process.stdout.columns || 80));
      shown = '';
    }
  };
}

/** Terminal codes that move the cursor back to where `text` began and clear from there on. */
function eraseSequence(text: string, columns: number): string {
  const rows = text
    .split('\n')
    .reduce((n, line) => n + Math.max(1, Math.ceil([...line].length / columns)), 0);
  return (rows > 1 ? `\x1b[${rows - 1}F` : '\r') + '\x1b[J';
}

async function readInput(file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
}

function print(result: TurnResult, opts: AskOptions, streamed: boolean, outFile: string | undefined): void {
  if (opts.json) {
    const { audio, newMessages: _m, ...rest } = result;
    const out = {
      ...rest,
      transcript: result.transcript?.text ?? null,
      transcriptLanguage: result.transcript?.language ?? null,
      audio: audio
        ? {
            file: outFile ?? null,
            format: audio.format,
            bytes: audio.data.length,
            durationSec: audio.durationSec,
          }
        : null,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  if (opts.reasoning && result.reasoning) process.stderr.write(`[reasoning]\n${result.reasoning.trim()}\n\n`);
  if (opts.audio) {
    process.stdout.write(`You said: ${result.transcript?.text || '(nothing recognised)'}\n`);
    process.stdout.write(`June: ${result.text}\n`);
  } else if (streamed) {
    process.stdout.write('\n');
  } else {
    process.stdout.write(result.text + '\n');
  }
  for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
  if (outFile && result.audio)
    process.stderr.write(`reply audio: ${outFile} (${result.audio.durationSec.toFixed(1)} s)\n`);
  if (opts.audio || outFile) process.stderr.write(`timings: ${formatTimings(result.timings)}\n`);
}
