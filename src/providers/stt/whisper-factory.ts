/**
 * Builds the whisper provider from June's config: `sttModel` is a model name from the registry
 * ("base.en", also "ggml-base.en.bin") or a path to a ggml file. The model is found (or downloaded)
 * on first load, not here, so creating the provider never touches the network.
 */
import os from 'node:os';
import path from 'node:path';
import type { JuneConfig } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import { ConfigError } from '../../util/errors.js';
import type { DownloadProgress } from '../../models/download.js';
import { resolveModel } from '../../models/manager.js';
import { findModel, findWhisperName } from '../../models/registry.js';
import { WhisperSpeechToText } from './whisper.js';

export interface WhisperFactoryOptions {
  logger: Logger;
  /** Download progress, when the model has to be fetched. */
  onProgress?: (p: DownloadProgress) => void;
}

/**
 * What to hand resolveModel for a `sttModel` value: a path as is, else the registry id. "whisper-base.en"
 * is accepted for "base.en" (and the other way round) so either spelling of the name works.
 */
export function whisperModelRef(sttModel: string): string {
  const name = sttModel.trim();
  if (name === 'auto') return whisperModelForMachine();
  if (looksLikePath(name)) return name;
  const found = findWhisperName(name);
  if (!found) return name; // unknown names are reported by resolveModel, which knows the full list
  if (found.entry.kind !== 'whisper') {
    throw new ConfigError(
      'sttModel',
      `"${sttModel}" is a ${found.entry.kind} model, not a whisper.cpp model`,
    );
  }
  return found.ref;
}

const GiB = 1024 ** 3;

/**
 * The whisper model `sttModel: auto` means on this machine, by its memory (and cores for the largest):
 *   under 4 GiB of memory            → base.en (148 MB file, ~300 MB in use);
 *   4 GiB or more                     → small.en-q5_1 (190 MB, ~600 MB in use; small.en accuracy);
 *   16 GiB or more and 8+ CPU cores   → large-v3-turbo-q5_0 (574 MB, ~1.5 GB in use; best accuracy,
 *                                       multilingual, and too slow for a reply on fewer cores).
 * Total memory, not free memory: free memory says little on a machine whose page cache fills it.
 */
export function whisperModelForMachine(
  totalBytes: number = os.totalmem(),
  cores: number = os.availableParallelism(),
): string {
  if (totalBytes < 4 * GiB) return 'base.en';
  if (totalBytes >= 16 * GiB && cores >= 8) return 'large-v3-turbo-q5_0';
  return 'small.en-q5_1';
}

export function createWhisperSpeechToText(
  config: JuneConfig,
  opts: WhisperFactoryOptions,
): WhisperSpeechToText {
  const ref = whisperModelRef(config.sttModel);
  const logger = opts.logger;
  return new WhisperSpeechToText({
    modelPath: () => resolveModel(config, ref, { onProgress: opts.onProgress, logger }),
    language: config.sttLanguage,
    logger,
  });
}

function looksLikePath(value: string): boolean {
  return value.includes('/') || value.includes(path.sep) || (value.endsWith('.bin') && !findModel(value));
}
