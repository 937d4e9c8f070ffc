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
import type { SpeechGate } from '../audio/index.js';
import { whisperModelForMachine } from './stt/whisper-factory.js';

export interface Providers {
  stt: SpeechToText;
  llm: LanguageModel;
  tts: TextToSpeech;
  /** The speech gate in front of STT (Silero VAD, the energy gate as its fallback). */
  speechGate: SpeechGate;
  close(): Promise<void>;
}

export interface ProviderFactoryOptions {
  logger: Logger;
  /** Show download progress on stderr (CLI); off for servers, which log instead. */
  progress?: boolean;
}

/**
 * The STT provider that `stt: auto` means: the server when one is configured; else whisper (its model
 * downloaded on first run), unless it cannot be had: offline with no whisper model cached → pocketsphinx.
 * (A whisper model that fails to download or load also falls back to pocketsphinx, at load time.)
 */
export function resolveSttKind(config: JuneConfig): Exclude<JuneConfig['stt'], 'auto'> {
  if (config.stt !== 'auto') return config.stt;
  if (config.sttBaseUrl) return 'openai';
  return whisperCached(config) || !config.offline ? 'whisper' : 'pocketsphinx';
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

/** The whisper model config.sttModel means ("auto" resolved by the machine's memory). */
export function effectiveWhisperModel(config: JuneConfig): string {
  return config.sttModel === 'auto' ? whisperModelForMachine() : config.sttModel;
}

export function whisperCached(config: JuneConfig): boolean {
  const id = whisperModelId(effectiveWhisperModel(config));
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
  const onProgress = opts.progress
    ? progressCallback(kind === 'whisper' ? `whisper ${effectiveWhisperModel(config)}` : `${kind} model`)
    : undefined;
  const pocketsphinx = async () => {
    const { PocketsphinxSpeechToText } = await import('./stt/pocketsphinx.js');
    return new PocketsphinxSpeechToText({ logger: opts.logger });
  };
  switch (kind) {
    case 'pocketsphinx': {
      if (config.stt !== 'auto') return pocketsphinx();
      // whisper cannot be had (offline, nothing cached): pocketsphinx stands in, said in the log and the replies
      const [{ SpeechToTextWithFallback }, { createWhisperSpeechToText }] = await Promise.all([
        import('./stt/stt-fallback.js'),
        import('./stt/whisper-factory.js'),
      ]);
      return new SpeechToTextWithFallback({
        primary: createWhisperSpeechToText(config, { logger: opts.logger }),
        unavailable: 'no whisper model is cached and downloads are off (JUNE_OFFLINE)',
        fallback: pocketsphinx,
        logger: opts.logger,
      });
    }
    case 'whisper': {
      const { createWhisperSpeechToText } = await import('./stt/whisper-factory.js');
      const whisper = createWhisperSpeechToText(config, { logger: opts.logger, onProgress });
      if (config.stt !== 'auto') return whisper;
      const { SpeechToTextWithFallback } = await import('./stt/stt-fallback.js');
      return new SpeechToTextWithFallback({ primary: whisper, fallback: pocketsphinx, logger: opts.logger });
    }
    case 'sensevoice':
    case 'moonshine':
    case 'parakeet': {
      const [{ SherpaSpeechToText }, { obtainSherpaSttFiles }] = await Promise.all([
        import('./stt/sherpa-stt.js'),
        import('./stt/sherpa-stt-files.js'),
      ]);
      return new SherpaSpeechToText(kind, {
        files: () =>
          obtainSherpaSttFiles(config, kind, { logger: opts.logger, ...(onProgress ? { onProgress } : {}) }),
        language: config.sttLanguage,
      });
    }
    case 'openai': {
      const { OpenAiSpeechToText } = await import('./stt/openai-stt.js');
      if (!config.sttBaseUrl) throw new Error('JUNE_STT_BASE_URL is required when JUNE_STT=openai');
      return new OpenAiSpeechToText({
        baseUrl: config.sttBaseUrl,
        model: config.sttModel === 'auto' ? 'whisper-1' : config.sttModel,
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

/**
 * The speech gate: Silero VAD (its 1.2 MB model found or downloaded on first use) under JUNE_VAD=auto or
 * silero, the energy gate under JUNE_VAD=energy or when Silero cannot be had (said once in the log).
 */
export async function createSpeechGate(
  config: JuneConfig,
  opts: ProviderFactoryOptions,
): Promise<SpeechGate> {
  const { EnergySpeechGate, SileroSpeechGate } = await import('../audio/index.js');
  if (config.vad === 'energy') return new EnergySpeechGate();
  const { resolveModel } = await import('../models/manager.js');
  return new SileroSpeechGate({
    modelPath: () =>
      resolveModel(config, config.vadModel, { logger: opts.logger, onProgress: () => undefined }),
    onUnavailable: (reason) =>
      opts.logger.warn({ err: reason }, 'Silero VAD cannot be had; the energy gate decides what is speech'),
  });
}

export async function createProviders(config: JuneConfig, opts: ProviderFactoryOptions): Promise<Providers> {
  const [stt, llm, tts, speechGate] = await Promise.all([
    createSpeechToText(config, opts),
    createLanguageModel(config, opts),
    createTextToSpeech(config, opts),
    createSpeechGate(config, opts),
  ]);
  return {
    stt,
    llm,
    tts,
    speechGate,
    close: async () => {
      await Promise.allSettled([stt.close(), llm.close(), tts.close()]);
    },
  };
}
