/**
 * Builds the whisper provider from June's config: `sttModel` is a model name from the registry
 * ("base.en", also "ggml-base.en.bin") or a path to a ggml file. The model is found (or downloaded)
 * on first load, not here, so creating the provider never touches the network.
 */
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
