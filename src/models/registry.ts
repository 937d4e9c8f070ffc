/**
 * The models June knows how to fetch by name.
 *
 * Checksums are the ones upstream publishes, never computed here: whisper.cpp's models/README.md lists a
 * SHA-1 per ggml file, and Hugging Face's Git LFS pointers give each file's SHA-256 (the `oid`) and byte size.
 * Where both exist both are checked. A model without a known checksum is still downloadable; the downloader
 * then logs that verification was skipped.
 */
import { envNameFor } from '../config/schema.js';
import { TTS_MODELS } from './registry-tts.js';
import { STT_MODELS } from './registry-stt.js';

export type ModelKind = 'whisper' | 'gguf' | 'sherpa-tts' | 'sherpa-stt' | 'vad';

/** Where a model's `url` path points: Hugging Face (config.modelBaseUrl) or GitHub releases (config.modelReleaseBaseUrl). */
export type ModelSource = 'huggingface' | 'github-release';

export interface ModelEntry {
  /** The name users type: `JUNE_STT_MODEL=base.en`, `june models pull qwen3-0.6b`. */
  id: string;
  kind: ModelKind;
  /** File name inside config.modelsDir. */
  file: string;
  /** Path below config.modelBaseUrl, so a mirror only has to replace the host. */
  url: string;
  sha256?: string;
  sha1?: string;
  sizeBytes: number;
  /**
   * True when `sizeBytes` is an approximate figure (no byte-exact size is published or known here): it is
   * shown to users but not enforced by the downloader. Default false: the size is exact and checked.
   */
  sizeApproximate?: boolean;
  /** Default "huggingface". */
  source?: ModelSource;
  /** The file is a .tar.bz2 archive that unpacks into this directory inside config.modelsDir. */
  archiveDir?: string;
  description: string;
  license: string;
}

const whisperUrl = (file: string) => `/ggerganov/whisper.cpp/resolve/main/${file}`;

export const MODELS: readonly ModelEntry[] = [
  {
    id: 'tiny.en',
    kind: 'whisper',
    file: 'ggml-tiny.en.bin',
    url: whisperUrl('ggml-tiny.en.bin'),
    sha1: 'c78c86eb1a8faa21b369bcd33207cc90d64ae9df',
    sha256: '921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f',
    sizeBytes: 77_704_715,
    description: 'Whisper tiny, English only: fastest, least accurate',
    license: 'MIT',
  },
  {
    id: 'base.en',
    kind: 'whisper',
    file: 'ggml-base.en.bin',
    url: whisperUrl('ggml-base.en.bin'),
    sha1: '137c40403d78fd54d454da0f9bd998f78703390c',
    sha256: 'a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002',
    sizeBytes: 147_964_211,
    description: 'Whisper base, English only: good balance of speed and accuracy (default)',
    license: 'MIT',
  },
  {
    id: 'small.en',
    kind: 'whisper',
    file: 'ggml-small.en.bin',
    url: whisperUrl('ggml-small.en.bin'),
    sha1: 'db8a495a91d927739e50b3fc1cc4c6b8f6c2d022',
    sha256: 'c6138d6d58ecc8322097e0f987c32f1be8bb0a18532a3f88f734d1bbf9c41e5d',
    sizeBytes: 487_614_201,
    description: 'Whisper small, English only: more accurate, about 3x slower than base',
    license: 'MIT',
  },
  {
    // No checksum recorded: this file's SHA-1/SHA-256 could not be read from here (see docs/voices.md).
    id: 'small.en-q5_1',
    kind: 'whisper',
    file: 'ggml-small.en-q5_1.bin',
    url: whisperUrl('ggml-small.en-q5_1.bin'),
    sizeBytes: 190_000_000,
    sizeApproximate: true,
    description:
      'Whisper small, English only, 5-bit: small.en accuracy in 190 MB (auto with 4–16 GiB of memory)',
    license: 'MIT',
  },
  {
    // No checksum recorded: this file's SHA-1/SHA-256 could not be read from here (see docs/voices.md).
    id: 'large-v3-turbo-q5_0',
    kind: 'whisper',
    file: 'ggml-large-v3-turbo-q5_0.bin',
    url: whisperUrl('ggml-large-v3-turbo-q5_0.bin'),
    sizeBytes: 574_000_000,
    sizeApproximate: true,
    description:
      'Whisper large-v3-turbo, multilingual, 5-bit: most accurate (auto with 16 GiB and 8 cores or more)',
    license: 'MIT',
  },
  {
    id: 'base',
    kind: 'whisper',
    file: 'ggml-base.bin',
    url: whisperUrl('ggml-base.bin'),
    sha1: '465707469ff3a37a2b9b8d8f89f2f99de7299dac',
    sha256: '60ed5bc3dd14eea856493d334349b405782ddcaf0028d4b5df4088345fba2efe',
    sizeBytes: 147_951_465,
    description: 'Whisper base, multilingual: for languages other than English',
    license: 'MIT',
  },
  {
    id: 'qwen3-0.6b',
    kind: 'gguf',
    file: 'Qwen3-0.6B-Q8_0.gguf',
    url: '/Qwen/Qwen3-0.6B-GGUF/resolve/main/Qwen3-0.6B-Q8_0.gguf',
    sha256: '9465e63a22add5354d9bb4b99e90117043c7124007664907259bd16d043bb031',
    sizeBytes: 639_446_688,
    description: 'Qwen3 0.6B, 8-bit: small embedded LLM that runs on a laptop CPU (default)',
    license: 'Apache-2.0',
  },
  {
    id: 'qwen3-1.7b',
    kind: 'gguf',
    file: 'Qwen3-1.7B-Q8_0.gguf',
    url: '/Qwen/Qwen3-1.7B-GGUF/resolve/main/Qwen3-1.7B-Q8_0.gguf',
    sha256: '061b54daade076b5d3362dac252678d17da8c68f07560be70818cace6590cb1a',
    sizeBytes: 1_834_426_016,
    description: 'Qwen3 1.7B, 8-bit: better answers than 0.6B, needs about 2.5 GB of memory',
    license: 'Apache-2.0',
  },
  ...TTS_MODELS,
  ...STT_MODELS,
];

/** The GGUF the embedded llama provider uses when config.llmModelPath is not set. */
export const DEFAULT_LLM_MODEL_ID = 'qwen3-0.6b';

/** Finds a model by id, or by its file name (so `JUNE_STT_MODEL=ggml-base.en.bin` works too). */
export function findModel(idOrFile: string, models: readonly ModelEntry[] = MODELS): ModelEntry | undefined {
  return models.find((m) => m.id === idOrFile) ?? models.find((m) => m.file === idOrFile);
}

/**
 * The registry entry a whisper model name refers to, and the spelling that found it: "base.en",
 * "whisper-base.en" and the file name "ggml-base.en.bin" all work. The entry may be of another kind
 * (a GGUF id); callers decide what that means.
 */
export function findWhisperName(name: string): { ref: string; entry: ModelEntry } | undefined {
  for (const ref of [name, name.replace(/^whisper-/, ''), `whisper-${name}`]) {
    const entry = findModel(ref);
    if (entry) return { ref, entry };
  }
  return undefined;
}

/** Full download URL; a trailing slash on the base URL (a mirror with a path prefix) is tolerated. */
export function modelUrl(baseUrl: string, entry: ModelEntry): string {
  return baseUrl.replace(/\/+$/, '') + entry.url;
}

/** The environment variable a user sets to point June at a local copy of a model of this kind. */
export function pathEnvVarFor(kind: ModelKind): string {
  if (kind === 'sherpa-tts') return envNameFor('ttsSherpaModel');
  if (kind === 'vad') return envNameFor('vadModel');
  if (kind === 'sherpa-stt') return envNameFor('sttModel');
  return kind === 'whisper' ? envNameFor('sttModel') : envNameFor('llmModelPath');
}

/** The base URL an entry's `url` is below: config.modelReleaseBaseUrl for GitHub releases, else config.modelBaseUrl. */
export function modelBaseUrlFor(
  config: { modelBaseUrl: string; modelReleaseBaseUrl: string },
  entry: ModelEntry,
): string {
  return entry.source === 'github-release' ? config.modelReleaseBaseUrl : config.modelBaseUrl;
}
