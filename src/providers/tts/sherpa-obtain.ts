/**
 * Gets a sherpa-onnx voice onto the disk and into an engine: a registry id is fetched into the model
 * cache on first use (with its vocoder, for Matcha), a directory is used as it is.
 */
import fs from 'node:fs';
import type { JuneConfig } from '../../config/schema.js';
import type { DownloadProgress } from '../../models/download.js';
import { resolveModel } from '../../models/manager.js';
import { findModel } from '../../models/registry.js';
import { KOKORO_SPEAKERS } from '../../models/registry-tts.js';
import type { Logger } from '../../observability/logger.js';
import type { LocalSherpaVoice } from './sherpa-model-dir.js';
import { SherpaTextToSpeech } from './sherpa-tts.js';

/** The vocoder Matcha voices need. */
export const MATCHA_VOCODER = 'vocos-22khz-univ';

export interface ObtainOptions {
  logger: Logger;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
}

/** Where the voice `ref` (registry id or directory) is, downloading it if need be. */
export async function localSherpaVoice(
  config: JuneConfig,
  ref: string,
  options: ObtainOptions,
): Promise<LocalSherpaVoice> {
  const resolveOptions = {
    logger: options.logger,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  if (!findModel(ref) && isDirectory(ref)) {
    return {
      name: ref,
      dir: ref,
      ...(/matcha/i.test(ref) ? { vocoder: await resolveModel(config, MATCHA_VOCODER, resolveOptions) } : {}),
    };
  }
  const dir = await resolveModel(config, ref, resolveOptions);
  const speakers = KOKORO_SPEAKERS[ref];
  if (ref.startsWith('matcha-')) {
    const vocoder = await resolveModel(config, MATCHA_VOCODER, resolveOptions);
    return { name: ref, dir, family: 'matcha', vocoder };
  }
  return { name: ref, dir, ...(speakers ? { speakers } : {}) };
}

/** The voice `ref`, ready to load. */
export async function obtainSherpaVoice(
  config: JuneConfig,
  ref: string,
  options: ObtainOptions,
): Promise<SherpaTextToSpeech> {
  const voice = await localSherpaVoice(config, ref, options);
  return new SherpaTextToSpeech({
    voice,
    ...(config.ttsVoice ? { speaker: config.ttsVoice } : {}),
    threads: config.ttsThreads,
    logger: options.logger,
  });
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
