/**
 * Turns an unpacked sherpa-onnx voice directory into the engine's configuration.
 *
 * The release archives differ in layout: Piper voices hold `<voice>.onnx`, `tokens.txt` and
 * `espeak-ng-data/`; Kokoro holds `model.onnx` (or `model.int8.onnx`), `voices.bin`, `tokens.txt`,
 * `espeak-ng-data/` and, from v1.0, `lexicon-*.txt`; Matcha holds `model-steps-*.onnx`, `tokens.txt`,
 * `espeak-ng-data/` and needs a separate vocoder file. The family is told by those files, so a
 * directory the user unpacked by hand works as well as a downloaded one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ModelError } from '../../util/errors.js';
import type { SherpaTtsConfig } from './sherpa-binding.js';

export type SherpaVoiceFamily = 'kokoro' | 'vits' | 'matcha';

/** A voice on disk. */
export interface LocalSherpaVoice {
  /** Registry id or directory name, for logs. */
  name: string;
  dir: string;
  /** Told by the files when omitted. */
  family?: SherpaVoiceFamily;
  /** Matcha only: the vocoder .onnx (vocos-22khz-univ). */
  vocoder?: string;
  /** Speaker names in speaker-id order, when known (Kokoro). */
  speakers?: readonly string[];
}

export function voiceFamily(voice: LocalSherpaVoice): SherpaVoiceFamily {
  if (voice.family) return voice.family;
  if (fs.existsSync(path.join(voice.dir, 'voices.bin'))) return 'kokoro';
  if (/matcha/i.test(path.basename(voice.dir)) || voice.vocoder) return 'matcha';
  return 'vits';
}

/** The engine configuration for a voice directory; names what is missing when the directory is incomplete. */
export function sherpaConfigFor(voice: LocalSherpaVoice, threads: number): SherpaTtsConfig {
  const { dir } = voice;
  const family = voiceFamily(voice);
  const need = (file: string) => {
    const p = path.join(dir, file);
    if (!fs.existsSync(p)) throw incomplete(voice, `${file} is missing`);
    return p;
  };
  const optional = (file: string) => {
    const p = path.join(dir, file);
    return fs.existsSync(p) ? p : undefined;
  };
  const onnx = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.onnx'))
    .sort();
  const tokens = need('tokens.txt');
  const dataDir = optional('espeak-ng-data');
  const common = { tokens, ...(dataDir ? { dataDir } : {}) };
  const base = { numThreads: threads, debug: false, provider: 'cpu' };

  if (family === 'kokoro') {
    const model = ['model.onnx', 'model.int8.onnx', ...onnx].find((f) => onnx.includes(f));
    if (!model) throw incomplete(voice, 'no .onnx model file');
    const lexicons = fs
      .readdirSync(dir)
      .filter((f) => /^lexicon.*\.txt$/.test(f))
      .sort()
      .map((f) => path.join(dir, f));
    return {
      model: {
        ...base,
        kokoro: {
          model: path.join(dir, model),
          voices: need('voices.bin'),
          ...common,
          ...(lexicons.length > 0 ? { lexicon: lexicons.join(',') } : {}),
        },
      },
      maxNumSentences: 1,
    };
  }
  if (family === 'matcha') {
    const acoustic = ['model-steps-3.onnx', ...onnx].find((f) => onnx.includes(f));
    if (!acoustic) throw incomplete(voice, 'no acoustic .onnx model file');
    if (!voice.vocoder || !fs.existsSync(voice.vocoder))
      throw incomplete(voice, 'the vocoder (vocos-22khz-univ.onnx) is missing');
    const lexicon = optional('lexicon.txt');
    return {
      model: {
        ...base,
        matcha: {
          acousticModel: path.join(dir, acoustic),
          vocoder: voice.vocoder,
          ...common,
          ...(lexicon ? { lexicon } : {}),
        },
      },
      maxNumSentences: 1,
    };
  }
  const model = onnx.find((f) => !/^vocos|^hifigan/.test(f));
  if (!model) throw incomplete(voice, 'no .onnx model file');
  const lexicon = optional('lexicon.txt');
  return {
    model: { ...base, vits: { model: path.join(dir, model), ...common, ...(lexicon ? { lexicon } : {}) } },
    maxNumSentences: 1,
  };
}

function incomplete(voice: LocalSherpaVoice, what: string): ModelError {
  return new ModelError(
    'model_invalid',
    `The voice ${voice.name} in ${voice.dir} is incomplete: ${what}. Remove the directory to download it again.`,
  );
}
