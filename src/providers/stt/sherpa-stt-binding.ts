/**
 * The part of `sherpa-onnx-node` June uses for speech input (OfflineRecognizer), typed, and loaded only
 * when a sherpa-onnx STT engine is asked for (the package carries a 32 MB native library).
 *
 * `createAsync` and `decodeAsync` run on libuv's thread pool inside the addon, so neither model loading
 * nor recognition blocks the event loop. The config shapes are those of sherpa-onnx-node 1.13.8's
 * types.js (OfflineRecognizerConfig).
 */
import { createRequire } from 'node:module';

export interface SherpaOfflineModelConfig {
  senseVoice?: { model: string; language?: string; useInverseTextNormalization?: number };
  transducer?: { encoder: string; decoder: string; joiner: string };
  moonshine?: { preprocessor: string; encoder: string; uncachedDecoder: string; cachedDecoder: string };
  tokens: string;
  modelType?: string;
  numThreads?: number;
  debug?: number;
  provider?: string;
}

export interface SherpaOfflineRecognizerConfig {
  featConfig?: { sampleRate: number; featureDim: number };
  modelConfig: SherpaOfflineModelConfig;
  decodingMethod?: string;
}

export interface SherpaOfflineResult {
  text: string;
  lang?: string;
  emotion?: string;
  event?: string;
  tokens?: string[];
  timestamps?: number[];
}

export interface SherpaOfflineStream {
  acceptWaveform(wave: { samples: Float32Array; sampleRate: number }): void;
}

export interface SherpaOfflineRecognizer {
  createStream(): SherpaOfflineStream;
  decodeAsync(stream: SherpaOfflineStream): Promise<SherpaOfflineResult>;
}

interface SherpaAsrModule {
  OfflineRecognizer: { createAsync(config: SherpaOfflineRecognizerConfig): Promise<SherpaOfflineRecognizer> };
}

let loaded: SherpaAsrModule | undefined;

/** Loads the addon on first use. Throws when the package or its native part is missing. */
export function sherpaAsr(): SherpaAsrModule {
  loaded ??= createRequire(import.meta.url)('sherpa-onnx-node') as SherpaAsrModule;
  return loaded;
}
