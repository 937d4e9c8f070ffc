import fs from 'node:fs/promises';
import type { Command } from 'commander';
import { concatPcm, encodeAudio } from '../../audio/index.js';
import { SentenceSegmenter } from '../../pipeline/sentence-segmenter.js';
import { toSpeakable } from '../../pipeline/speakable.js';
import { createTextToSpeech } from '../../providers/factory.js';
import type { PcmAudio } from '../../providers/types.js';
import { cliContext } from '../context.js';
import { formatFromPath } from '../format.js';

export function register(program: Command): void {
  program
    .command('speak')
    .description('Speak text into an audio file (text-to-speech only)')
    .argument('<text...>', 'what to say')
    .requiredOption(
      '-o, --out <file>',
      'output file; format from the extension (.ogg voice note, .mp3, .wav)',
    )
    .option('-l, --language <code>', 'language of the text; picks the voice (default: en)')
    .option('-v, --voice <name>', 'voice name (engine specific)')
    .action(async (words: string[], opts: { out: string; language?: string; voice?: string }) => {
      const text = toSpeakable(words.join(' '));
      if (!text) throw new Error('nothing to say');
      const { config, logger } = cliContext();
      const tts = await createTextToSpeech(config, { logger });
      try {
        const seg = new SentenceSegmenter();
        const chunks: PcmAudio[] = [];
        for (const sentence of [...seg.push(text), ...seg.flush()]) {
          chunks.push(await tts.synthesize(sentence, { language: opts.language, voice: opts.voice }));
        }
        const pcm = concatPcm(chunks, 120);
        await fs.writeFile(opts.out, await encodeAudio(pcm, formatFromPath(opts.out)));
        process.stderr.write(`${opts.out}: ${(pcm.samples.length / pcm.sampleRate).toFixed(1)} s\n`);
      } finally {
        await tts.close();
      }
    });
}
