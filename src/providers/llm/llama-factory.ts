/**
 * Builds the embedded language model from config: the GGUF is `llmModelPath` when set, else the default
 * model, which the model manager downloads into the cache on first use.
 */
import type { JuneConfig } from '../../config/schema.js';
import type { DownloadProgress } from '../../models/download.js';
import { resolveModel } from '../../models/manager.js';
import { DEFAULT_LLM_MODEL_ID } from '../../models/registry.js';
import type { Logger } from '../../observability/logger.js';
import { LlamaLanguageModel } from './llama.js';

export interface LlamaFactoryOptions {
  logger?: Logger;
  /** Download progress of the model, when it has to be fetched. */
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
  /** CPU threads for evaluation; default: node-llama-cpp's choice (the machine's math cores). */
  threads?: number;
}

export async function createLlamaLanguageModel(
  config: JuneConfig,
  options: LlamaFactoryOptions = {},
): Promise<LlamaLanguageModel> {
  const modelPath = await resolveModel(config, config.llmModelPath ?? DEFAULT_LLM_MODEL_ID, {
    onProgress: options.onProgress,
    signal: options.signal,
    logger: options.logger,
  });
  return new LlamaLanguageModel({
    modelPath,
    contextSize: config.llmContextSize,
    maxTokens: config.llmMaxTokens,
    temperature: config.llmTemperature,
    threads: options.threads,
    logger: options.logger,
  });
}
