/**
 * The neural voices June can fetch: sherpa-onnx's converted Kokoro, Piper (VITS) and Matcha-TTS models,
 * published as .tar.bz2 archives (and single vocoder files) on the k2-fsa/sherpa-onnx GitHub releases
 * "tts-models" and "vocoder-models".
 *
 * NO CHECKSUMS are recorded: upstream publishes none beside these archives, and they could not be fetched
 * from where this registry was written to compute them. The sizes are approximate (from the model files
 * they contain: Kokoro v1.0 fp32 ~310 MB plus 53 voices, Piper voices ~60 MB, Matcha ~70 MB); they are
 * shown to users and used for disk-space checks, but not enforced. The downloader logs "integrity
 * verification skipped" for these, as it does for every model without a published checksum. See
 * docs/voices.md.
 */
import type { ModelEntry } from './registry.js';

const RELEASE = '/k2-fsa/sherpa-onnx/releases/download';

/** A voice archive on the "tts-models" release: `<name>.tar.bz2` unpacking into `<name>/`. */
function archive(name: string, approxMb: number, description: string, license: string): ModelEntry {
  return {
    id: name,
    kind: 'sherpa-tts',
    file: `${name}.tar.bz2`,
    url: `${RELEASE}/tts-models/${name}.tar.bz2`,
    source: 'github-release',
    archiveDir: name,
    sizeBytes: approxMb * 1_000_000,
    sizeApproximate: true,
    description,
    license,
  };
}

export const TTS_MODELS: readonly ModelEntry[] = [
  archive(
    'kokoro-multi-lang-v1_0',
    350,
    'Kokoro 82M v1.0: natural voice, 53 speakers, English (US/UK) and Chinese best, also es/fr/hi/it/ja/pt (default voice)',
    'Apache-2.0',
  ),
  archive(
    'kokoro-int8-multi-lang-v1_0',
    140,
    'Kokoro 82M v1.0, 8-bit weights: smaller and faster, slightly lower quality',
    'Apache-2.0',
  ),
  archive('kokoro-en-v0_19', 330, 'Kokoro 82M v0.19: English only, 11 speakers', 'Apache-2.0'),
  archive(
    'vits-piper-en_US-amy-low',
    64,
    'Piper (VITS) US English, "amy", low quality: small and fast',
    'MIT',
  ),
  archive('vits-piper-en_US-lessac-medium', 64, 'Piper (VITS) US English, "lessac", medium quality', 'MIT'),
  archive('vits-piper-de_DE-thorsten-medium', 64, 'Piper (VITS) German, "thorsten"', 'MIT'),
  archive('vits-piper-fr_FR-siwis-medium', 64, 'Piper (VITS) French, "siwis"', 'MIT'),
  archive('vits-piper-es_ES-davefx-medium', 64, 'Piper (VITS) Spanish (Spain), "davefx"', 'MIT'),
  archive('vits-piper-pt_BR-faber-medium', 64, 'Piper (VITS) Brazilian Portuguese, "faber"', 'MIT'),
  archive(
    'matcha-icefall-en_US-ljspeech',
    73,
    'Matcha-TTS (icefall) on LJSpeech, English; needs the vocos-22khz-univ vocoder',
    'Apache-2.0 (model); LJSpeech is public domain',
  ),
  {
    id: 'vocos-22khz-univ',
    kind: 'sherpa-tts',
    file: 'vocos-22khz-univ.onnx',
    url: `${RELEASE}/vocoder-models/vocos-22khz-univ.onnx`,
    source: 'github-release',
    sizeBytes: 54_000_000,
    sizeApproximate: true,
    description: 'Vocos universal vocoder, 22.05 kHz: turns Matcha-TTS mel spectrograms into audio',
    license: 'MIT',
  },
];

/** Kokoro speaker names in speaker-id order, as sherpa-onnx lists them for each Kokoro release. */
export const KOKORO_SPEAKERS: Readonly<Record<string, readonly string[]>> = {
  'kokoro-en-v0_19': [
    'af',
    'af_bella',
    'af_nicole',
    'af_sarah',
    'af_sky',
    'am_adam',
    'am_michael',
    'bf_emma',
    'bf_isabella',
    'bm_george',
    'bm_lewis',
  ],
};
