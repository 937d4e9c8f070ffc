/**
 * What `june doctor` says about the ears: which speech-to-text engine answers (and, under JUNE_STT=auto,
 * that pocketsphinx answers only when whisper cannot be had), and which speech gate decides what is
 * speech (Silero VAD, or the energy gate when Silero cannot be had).
 */
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import type { JuneConfig } from '../../config/schema.js';
import { findModel } from '../../models/registry.js';
import { isModelCached } from '../../models/manager.js';
import { whisperModelForMachine } from './whisper-factory.js';
import { DEFAULT_SHERPA_STT_MODEL } from './sherpa-stt-files.js';

export interface EarsStatus {
  ok: boolean;
  /** True when a failure here is not fatal (a fallback answers). */
  optional: boolean;
  detail: string;
  fix?: string;
}

const mb = (id: string) => Math.round((findModel(id)?.sizeBytes ?? 0) / 1e6);

function cachedOrPath(config: JuneConfig, ref: string): boolean {
  return findModel(ref) ? isModelCached(config, ref) : fs.existsSync(ref);
}

/** `kind` is resolveSttKind(config). */
export function sttStatus(config: JuneConfig, kind: string): EarsStatus {
  const auto = config.stt === 'auto';
  if (kind === 'whisper') {
    const model = config.sttModel === 'auto' ? whisperModelForMachine() : config.sttModel;
    const why =
      config.sttModel === 'auto'
        ? ` (chosen for ${Math.round(os.totalmem() / 1024 ** 3)} GiB of memory, ${os.availableParallelism()} cores)`
        : '';
    if (cachedOrPath(config, model))
      return { ok: true, optional: false, detail: `whisper model ready: ${model}${why}` };
    const instead = auto ? 'pocketsphinx answers (less accurate)' : 'speech input fails';
    if (config.offline)
      return {
        ok: auto,
        optional: auto,
        detail: `WARNING: whisper model ${model} is not downloaded and downloads are off; ${instead}`,
        fix: `june models pull ${model} on a connected machine`,
      };
    return {
      ok: true,
      optional: false,
      detail: `whisper model ${model}${why} (about ${mb(model)} MB) downloads on first run; until then, or if it cannot be had, ${instead}`,
      fix: `june models pull ${model}  (to fetch it now)`,
    };
  }
  if (kind === 'pocketsphinx' && auto) {
    const model = config.sttModel === 'auto' ? whisperModelForMachine() : config.sttModel;
    return {
      ok: true,
      optional: true,
      detail: `WARNING: no whisper model is cached and downloads are off (JUNE_OFFLINE); pocketsphinx answers (much less accurate)`,
      fix: `june models pull ${model} on a connected machine`,
    };
  }
  if (kind === 'sensevoice' || kind === 'moonshine' || kind === 'parakeet') {
    const ref =
      findModel(config.sttModel)?.kind === 'sherpa-stt' || fs.existsSync(config.sttModel)
        ? config.sttModel
        : DEFAULT_SHERPA_STT_MODEL[kind];
    if (cachedOrPath(config, ref))
      return { ok: true, optional: false, detail: `sherpa-onnx ${kind} model ready: ${ref}` };
    return {
      ok: !config.offline,
      optional: false,
      detail: config.offline
        ? `WARNING: sherpa-onnx ${kind} model ${ref} is not downloaded and downloads are off; speech input fails`
        : `sherpa-onnx ${kind} model ${ref} (about ${mb(ref)} MB) downloads on first use`,
      fix: `june models pull ${ref}`,
    };
  }
  return { ok: true, optional: true, detail: `using ${kind}` };
}

export function vadStatus(config: JuneConfig): EarsStatus {
  if (config.vad === 'energy') return { ok: true, optional: true, detail: 'energy gate (JUNE_VAD=energy)' };
  const strict = config.vad === 'silero';
  const instead =
    'the energy gate decides what is speech instead (more false accepts on tones and noise bursts)';
  try {
    createRequire(import.meta.url)('onnxruntime-node');
  } catch (err) {
    return {
      ok: !strict,
      optional: true,
      detail: `WARNING: onnxruntime-node cannot be loaded (${(err as Error).message.split('\n')[0]}); ${instead}`,
      fix: 'npm install',
    };
  }
  if (cachedOrPath(config, config.vadModel))
    return { ok: true, optional: true, detail: `Silero VAD ready: ${config.vadModel}` };
  if (config.offline)
    return {
      ok: !strict,
      optional: true,
      detail: `WARNING: Silero VAD ${config.vadModel} is not downloaded and downloads are off; ${instead}`,
      fix: `june models pull ${config.vadModel} on a connected machine`,
    };
  return {
    ok: true,
    optional: true,
    detail: `Silero VAD ${config.vadModel} (1.2 MB) downloads on first use; until then, or if it cannot be had, ${instead}`,
  };
}
