/**
 * The part of `sherpa-onnx-node` June uses for speech output, typed, and loaded only when a sherpa-onnx
 * voice is asked for (the package carries a 32 MB native library).
 *
 * Both model loading (`createAsync`) and synthesis (`generateAsync`) run on libuv's thread pool inside
 * the addon, so neither blocks the event loop; the progress callback comes back on the main thread
 * between sentences, and returning 0 from it stops the synthesis.
 */
import { createRequire } from 'node:module';

export interface SherpaTtsModelConfig {
  vits?: { model: string; tokens: string; dataDir?: string; lexicon?: string; lengthScale?: number };
  kokoro?: {
    model: string;
    voices: string;
    tokens: string;
    dataDir?: string;
    lexicon?: string;
    lang?: string;
    lengthScale?: number;
  };
  matcha?: {
    acousticModel: string;
    vocoder: string;
    tokens: string;
    dataDir?: string;
    lexicon?: string;
    lengthScale?: number;
  };
  numThreads?: number;
  debug?: boolean | number;
  provider?: string;
}

export interface SherpaTtsConfig {
  model: SherpaTtsModelConfig;
  maxNumSentences?: number;
  silenceScale?: number;
}

export interface SherpaGeneratedAudio {
  samples: Float32Array;
  sampleRate: number;
}

export interface SherpaOfflineTts {
  readonly numSpeakers: number;
  readonly sampleRate: number;
  generateAsync(request: {
    text: string;
    sid: number;
    speed: number;
    onProgress?: (info: { samples: Float32Array; progress: number }) => number | boolean | void;
  }): Promise<SherpaGeneratedAudio>;
}

interface SherpaModule {
  OfflineTts: { createAsync(config: SherpaTtsConfig): Promise<SherpaOfflineTts> };
}

let loaded: SherpaModule | undefined;

/** Loads the addon on first use. Throws when the package or its native part is missing. */
export function sherpaOnnx(): SherpaModule {
  loaded ??= createRequire(import.meta.url)('sherpa-onnx-node') as SherpaModule;
  return loaded;
}
