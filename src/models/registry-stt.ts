/**
 * The sherpa-onnx speech-recognition models (JUNE_STT=sensevoice|moonshine|parakeet) and the Silero VAD
 * model June can fetch.
 *
 * The sherpa-onnx models are .tar.bz2 archives on the k2-fsa/sherpa-onnx GitHub release "asr-models".
 * NO CHECKSUMS are recorded for them: upstream publishes none beside the archives, and they could not be
 * fetched from where this registry was written. Their sizes are approximate (shown to users, not
 * enforced), so the downloader logs "integrity verification skipped" for them.
 *
 * Silero VAD v6 is pinned to faster-whisper's asset at commit 65882eee9f5c (MIT); its SHA-256 and byte
 * size are those of that exact file (the copy in the project's test data, whose provenance is recorded
 * in shared/data/SOURCES.md), so the download is verified.
 */
import type { ModelEntry } from './registry.js';

const RELEASE = '/k2-fsa/sherpa-onnx/releases/download';

/** An archive on the "asr-models" release: `<name>.tar.bz2` unpacking into `<name>/`. */
function asrArchive(name: string, approxMb: number, description: string, license: string): ModelEntry {
  return {
    id: name,
    kind: 'sherpa-stt',
    file: `${name}.tar.bz2`,
    url: `${RELEASE}/asr-models/${name}.tar.bz2`,
    source: 'github-release',
    archiveDir: name,
    sizeBytes: approxMb * 1_000_000,
    sizeApproximate: true,
    description,
    license,
  };
}

export const SENSEVOICE_MODEL_ID = 'sherpa-onnx-sense-voice-zh-en-ja-ko-yue-2024-07-17';
export const MOONSHINE_MODEL_ID = 'sherpa-onnx-moonshine-base-en-int8';
export const PARAKEET_MODEL_ID = 'sherpa-onnx-nemo-parakeet-tdt-0.6b-v2-int8';
export const SILERO_VAD_MODEL_ID = 'silero-vad-v6';

export const STT_MODELS: readonly ModelEntry[] = [
  asrArchive(
    SENSEVOICE_MODEL_ID,
    1000,
    'SenseVoice small (int8 and fp32 inside): zh, en, ja, ko, yue with language identification',
    'FunASR model licence (see the archive)',
  ),
  asrArchive(
    'sherpa-onnx-moonshine-tiny-en-int8',
    120,
    'Moonshine tiny, English, 8-bit: fastest on CPU',
    'MIT',
  ),
  asrArchive(
    MOONSHINE_MODEL_ID,
    290,
    'Moonshine base, English, 8-bit: fast on CPU, more accurate than tiny',
    'MIT',
  ),
  asrArchive(
    PARAKEET_MODEL_ID,
    680,
    'NVIDIA Parakeet TDT 0.6B v2, English, 8-bit: near the top of the open ASR leaderboard',
    'CC-BY-4.0',
  ),
  {
    id: SILERO_VAD_MODEL_ID,
    kind: 'vad',
    file: 'silero_vad_v6.onnx',
    url: '/SYSTRAN/faster-whisper/raw/65882eee9f5c/faster_whisper/assets/silero_vad_v6.onnx',
    source: 'github-release',
    sha256: '4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2',
    sizeBytes: 1_245_151,
    description: 'Silero VAD v6: the speech gate in front of speech-to-text (1.2 MB)',
    license: 'MIT',
  },
];
