/**
 * Builds the configured providers. Each implementation module is imported lazily, so a user of the
 * OpenAI-compatible servers never loads llama.cpp or whisper.cpp.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JuneConfig } from '../config/schema.js';
import { findModel, findWhisperName } from '../models/registry.js';
import type { Logger } from '../observability/logger.js';
import { isModelCached } from '../models/manager.js';
import { createProgressBar } from '../models/progress.js';
import type { DownloadProgress } from '../models/download.js';
import type { LanguageModel, SpeechToText, TextToSpeech } from './types.js';

export interface Providers {
  stt: SpeechToText;
  llm: LanguageModel;
  tts: TextToSpeech;
  close(): Promise<void>;
}

export interface ProviderFactoryOptions {
  logger: Logger;
  /** Show download progress on stderr (CLI); off for servers, which log instead. */
  progress?: boolean;
}

/** The STT provider that `stt: auto` means: whisper when its model is already cached, else pocketsphinx. */
export function resolveSttKind(config: JuneConfig): Exclude<JuneConfig['stt'], 'auto'> {
  if (config.stt !== 'auto') return config.stt;
  if (config.sttBaseUrl) return 'openai';
  return whisperCached(config) ? 'whisper' : 'pocketsphinx';
}

/** The LLM provider that `llm: auto` means: the server when one is configured, else embedded llama. */
export function resolveLlmKind(config: JuneConfig): Exclude<JuneConfig['llm'], 'auto'> {
  if (config.llm !== 'auto') return config.llm;
  return config.llmBaseUrl ? 'openai' : 'llama';
}

/** The registry id for a whisper model name ("base.en" or "whisper-base.en"), if it is a known one. */
export function whisperModelId(name: string): string | undefined {
  const found = findWhisperName(name);
  return found?.entry.kind === 'whisper' ? found.ref : undefined;
}

function whisperCached(config: JuneConfig): boolean {
  const id = whisperModelId(config.sttModel);
  if (id) return isModelCached(config, id);
  return fs.existsSync(config.sttModel); // a path to a model file
}

/** A progress callback drawing a bar on stderr; the bar is finished when the download completes. */
export function progressCallback(label: string): (p: DownloadProgress) => void {
  const bar = createProgressBar({ label });
  return (p) => {
    bar.update(p);
    if (p.total !== undefined && p.received >= p.total) bar.done();
  };
}

export async function createSpeechToText(
  config: JuneConfig,
  opts: ProviderFactoryOptions,
): Promise<SpeechToText> {
  const kind = resolveSttKind(config);
  const onProgress = opts.progress ? progressCallback(`whisper ${config.sttModel}`) : undefined;
  switch (kind) {
    case 'pocketsphinx': {
      const { PocketsphinxSpeechToText } = await import('./stt/pocketsphinx.js');
      return new PocketsphinxSpeechToText({ logger: opts.logger });
    }
    case 'whisper': {
      const { createWhisperSpeechToText } = await import('./stt/whisper-factory.js');
      return createWhisperSpeechToText(config, { logger: opts.logger, onProgress });
    }
    case 'openai': {
      const { OpenAiSpeechToText } = await import('./stt/openai-stt.js');
      if (!config.sttBaseUrl) throw new Error('JUNE_STT_BASE_URL is required when JUNE_STT=openai');
      return new OpenAiSpeechToText({
        baseUrl: config.sttBaseUrl,
        model: config.sttModel,
        apiKey: config.sttApiKey,
        logger: opts.logger,
      });
    }
  }
}

export async function createLanguageModel(
  config: JuneConfig,
  opts: ProviderFactoryOptions,
): Promise<LanguageModel> {
  const kind = resolveLlmKind(config);
  if (kind === 'openai') {
    const { OpenAiLanguageModel } = await import('./llm/openai.js');
    const { ThinkingMemory, THINKING_MEMORY_FILE } = await import('./llm/openai-thinking-memory.js');
    if (!config.llmBaseUrl) throw new Error('JUNE_LLM_BASE_URL is required when JUNE_LLM=openai');
    return new OpenAiLanguageModel({
      baseUrl: config.llmBaseUrl,
      model: config.llmModel,
      apiKey: config.llmApiKey,
      retries: config.llmRetries,
      firstTokenTimeoutMs: config.llmFirstTokenTimeoutMs,
      idleTimeoutMs: config.llmIdleTimeoutMs,
      thinking: config.llmThinking,
      thinkingMemory: new ThinkingMemory(path.join(config.dataDir, THINKING_MEMORY_FILE), opts.logger),
      logger: opts.logger,
    });
  }
  const { createLlamaLanguageModel } = await import('./llm/llama-factory.js');
  const onProgress = opts.progress ? progressCallback('language model') : undefined;
  return createLlamaLanguageModel(config, {
    logger: opts.logger,
    onProgress,
    ...(config.llmThreads > 0 ? { threads: config.llmThreads } : {}),
  });
}

export interface TtsVoiceStatus {
  /** False only when JUNE_TTS=sherpa and its voice cannot be had. */
  ok: boolean;
  detail: string;
  fix?: string;
}

/**
 * What `june doctor` says about the neural voice (JUNE_TTS=auto|sherpa): ready, downloading on first
 * use, or not to be had — and then, under auto, that espeak-ng speaks instead.
 */
export async function ttsVoiceStatus(config: JuneConfig): Promise<TtsVoiceStatus | undefined> {
  if (config.tts !== 'auto' && config.tts !== 'sherpa') return undefined;
  const { sherpaVoiceFor, sherpaLanguages } = await import('./tts/sherpa-voices.js');
  const { MATCHA_VOCODER } = await import('./tts/sherpa-obtain.js');
  const voice = sherpaVoiceFor(undefined, config.ttsSherpaModel)!;
  const strict = config.tts === 'sherpa';
  const instead = strict ? 'speech output fails' : 'espeak-ng speaks instead';
  try {
    const { sherpaOnnx } = await import('./tts/sherpa-binding.js');
    sherpaOnnx();
  } catch (err) {
    return {
      ok: !strict,
      detail: `WARNING: sherpa-onnx cannot be loaded (${(err as Error).message.split('\n')[0]}); ${instead}`,
      fix: 'npm install (sherpa-onnx-node ships its linux-x64/arm64 and macOS binaries)',
    };
  }
  const entry = findModel(voice);
  const needed = entry ? [voice, ...(voice.startsWith('matcha-') ? [MATCHA_VOCODER] : [])] : [];
  const missing = entry
    ? needed.filter((id) => !isModelCached(config, id))
    : fs.existsSync(voice)
      ? []
      : [voice];
  const languages =
    config.ttsSherpaModel === 'auto'
      ? ` (languages: ${sherpaLanguages().join(', ')}; espeak-ng for others)`
      : '';
  if (missing.length === 0) return { ok: true, detail: `neural voice ready: ${voice}${languages}` };
  if (!entry)
    return {
      ok: !strict,
      detail: `WARNING: voice directory ${voice} does not exist; ${instead}`,
      fix: `set JUNE_TTS_SHERPA_MODEL to a voice directory or a model id (june models list)`,
    };
  const mb = needed.reduce((n, id) => n + (findModel(id)?.sizeBytes ?? 0), 0) / 1e6;
  const pull = `june models pull ${missing.join(' && june models pull ')}`;
  if (config.offline)
    return {
      ok: !strict,
      detail: `WARNING: neural voice ${voice} is not downloaded and downloads are off (JUNE_OFFLINE); ${instead}`,
      fix: `${pull} on a connected machine, or place the archive in ${config.modelsDir}`,
    };
  return {
    ok: true,
    detail: `neural voice ${voice} (about ${Math.round(mb)} MB) downloads on first use; until then, or if it cannot be had, ${instead}${languages}`,
    fix: `${pull}  (to fetch it now)`,
  };
}

export async function createTextToSpeech(
  config: JuneConfig,
  opts: ProviderFactoryOptions,
): Promise<TextToSpeech> {
  if (config.tts === 'openai') {
    const { OpenAiTextToSpeech } = await import('./tts/openai-tts.js');
    if (!config.ttsBaseUrl) throw new Error('JUNE_TTS_BASE_URL is required when JUNE_TTS=openai');
    return new OpenAiTextToSpeech({
      baseUrl: config.ttsBaseUrl,
      model: config.ttsModel,
      voice: config.ttsVoice,
      apiKey: config.ttsApiKey,
      logger: opts.logger,
    });
  }
  const { EspeakTextToSpeech } = await import('./tts/espeak.js');
  if (config.tts === 'espeak-ng')
    return new EspeakTextToSpeech({ voice: config.ttsVoice, logger: opts.logger });
  // auto / sherpa: the neural voice for the language, espeak-ng (choosing by language) when it cannot be had.
  const [{ NeuralVoiceWithFallback }, { sherpaVoiceFor }, { obtainSherpaVoice }] = await Promise.all([
    import('./tts/sherpa-auto.js'),
    import('./tts/sherpa-voices.js'),
    import('./tts/sherpa-obtain.js'),
  ]);
  return new NeuralVoiceWithFallback({
    voiceFor: (language) => sherpaVoiceFor(language, config.ttsSherpaModel),
    obtain: (ref) =>
      obtainSherpaVoice(config, ref, {
        logger: opts.logger,
        ...(opts.progress ? { onProgress: progressCallback(`voice ${ref}`) } : {}),
      }),
    fallback: new EspeakTextToSpeech({ logger: opts.logger }),
    strict: config.tts === 'sherpa',
    logger: opts.logger,
  });
}

export async function createProviders(config: JuneConfig, opts: ProviderFactoryOptions): Promise<Providers> {
  const [stt, llm, tts] = await Promise.all([
    createSpeechToText(config, opts),
    createLanguageModel(config, opts),
    createTextToSpeech(config, opts),
  ]);
  return {
    stt,
    llm,
    tts,
    close: async () => {
      await Promise.allSettled([stt.close(), llm.close(), tts.close()]);
    },
  };
}
