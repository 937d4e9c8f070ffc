/**
 * Real recordings through the whole offline path (decodeAudio → pocketsphinx helper), scored with word
 * error rate. The bounds are loose: they catch a broken decoder (wrong sample format, wrong model, state
 * leaking between requests), not small changes in accuracy.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../../audio/index.js';
import { speechDataDir, SPEECH_DATA_MISSING } from '../../audio/test-fixtures.js';
import { corpusWer, wordErrorRate } from '../../eval/wer.js';
import { PocketsphinxSpeechToText } from './pocketsphinx.js';

const dataDir = speechDataDir();

interface Clip {
  file: string;
  reference: string;
}

/**
 * Time allowed for a test: a guard against a hung engine that grows with the work, not a speed check.
 * Loading the model and transcribing one clip (at most ten seconds of speech) each take about two seconds
 * on an idle 2-core machine, and up to forty with stress-ng and other work on it (8.5 times real time
 * measured at load 16); two minutes each leave room for that.
 */
const timeoutFor = (clips: Clip[]) => 120_000 * (1 + clips.length);

function librivoxClips(dir: string): Clip[] {
  const text = readFileSync(path.join(dir, 'pocketsphinx-testdata/librivox/transcription'), 'utf8');
  return [...text.matchAll(/^<s> (.*) <\/s> \((.+)\)$/gm)].map((m) => ({
    file: path.join(dir, 'pocketsphinx-testdata/librivox', `${m[2]}.wav`),
    reference: m[1]!,
  }));
}

function wyomingClips(dir: string): Clip[] {
  const tsv = readFileSync(path.join(dir, 'wyoming-commands/transcripts.tsv'), 'utf8');
  return tsv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split('\t'))
    .filter(([, language, reference]) => language === 'en' && reference)
    .map(([file, , reference]) => ({
      file: path.join(dir, 'wyoming-commands', file!),
      reference: reference!,
    }));
}

describe.skipIf(!dataDir)(
  `pocketsphinx on real recordings${dataDir ? '' : ` (${SPEECH_DATA_MISSING})`}`,
  () => {
    const stt = new PocketsphinxSpeechToText();
    afterAll(() => stt.close());
    const librivox = dataDir ? librivoxClips(dataDir) : [];
    const wyoming = dataDir ? wyomingClips(dataDir) : [];

    async function score(clips: Clip[]) {
      await stt.load();
      const rows = [];
      for (const clip of clips) {
        const { pcm, durationSec } = await decodeAudio(await readFile(clip.file), {
          maxBytes: 50e6,
          maxSeconds: 120,
        });
        const t0 = performance.now();
        const { text } = await stt.transcribe(pcm);
        const ms = performance.now() - t0;
        rows.push({
          ...clip,
          hypothesis: text,
          durationSec,
          ms,
          wer: wordErrorRate(clip.reference, text).wer,
        });
      }
      const total = corpusWer(rows);
      const audioSec = rows.reduce((s, r) => s + r.durationSec, 0);
      const decodeSec = rows.reduce((s, r) => s + r.ms, 0) / 1000;
      for (const r of rows) {
        console.info(
          `${path.basename(r.file)}  WER ${r.wer.toFixed(2)}  ${Math.round(r.ms)} ms  "${r.hypothesis}"`,
        );
      }
      console.info(
        `corpus WER ${total.wer.toFixed(3)} (${total.errors}/${total.referenceWords}), ` +
          `${audioSec.toFixed(1)} s audio in ${decodeSec.toFixed(1)} s (${(decodeSec / audioSec).toFixed(2)} xRT)`,
      );
      return total;
    }

    it(
      'transcribes the LibriVox clips with corpus WER under 0.6',
      async () => {
        const total = await score(librivox);
        expect(total.referenceWords).toBeGreaterThan(50);
        expect(total.wer).toBeLessThan(0.6);
      },
      timeoutFor(librivox),
    );

    it(
      'transcribes the spoken home-automation commands (one is 44.1 kHz stereo) with WER under 0.6',
      async () => {
        expect(wyoming.length).toBeGreaterThanOrEqual(2);
        const total = await score(wyoming);
        expect(total.wer).toBeLessThan(0.6);
      },
      timeoutFor(wyoming),
    );
  },
);
