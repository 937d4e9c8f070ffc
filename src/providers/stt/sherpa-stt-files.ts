/**
 * Finds a sherpa-onnx STT engine's model files in a directory unpacked from its release archive
 * (preferring the int8 variant when both are there), and obtains that directory from the model cache
 * (downloading it on first use) when the configured model is a registry id.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JuneConfig } from '../../config/schema.js';
import { findModel } from '../../models/registry.js';
import { MOONSHINE_MODEL_ID, PARAKEET_MODEL_ID, SENSEVOICE_MODEL_ID } from '../../models/registry-stt.js';
import { resolveModel, type ResolveModelOptions } from '../../models/manager.js';
import { ModelError } from '../../util/errors.js';
import type { SherpaSttEngine, SherpaSttFiles } from './sherpa-stt.js';

export const DEFAULT_SHERPA_STT_MODEL: Record<SherpaSttEngine, string> = {
  sensevoice: SENSEVOICE_MODEL_ID,
  moonshine: MOONSHINE_MODEL_ID,
  parakeet: PARAKEET_MODEL_ID,
};

/** `<stem>.int8.onnx` if present, else `<stem>.onnx`, in `dir`. */
function onnx(dir: string, names: string[], stem: string): string {
  for (const candidate of [`${stem}.int8.onnx`, `${stem}.onnx`])
    if (names.includes(candidate)) return path.join(dir, candidate);
  throw new ModelError(
    'model_invalid',
    `The speech model directory ${dir} has no ${stem}.onnx (or ${stem}.int8.onnx).`,
  );
}

/** The files `engine` needs, found in `dir`. */
export function sherpaSttFilesIn(engine: SherpaSttEngine, dir: string): SherpaSttFiles {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    throw new ModelError('model_not_found', `The speech model directory ${dir} cannot be read.`, err);
  }
  const tokens = path.join(dir, 'tokens.txt');
  if (!names.includes('tokens.txt'))
    throw new ModelError('model_invalid', `The speech model directory ${dir} has no tokens.txt.`);
  switch (engine) {
    case 'sensevoice':
      return { engine, model: onnx(dir, names, 'model'), tokens };
    case 'moonshine':
      return {
        engine,
        preprocessor: onnx(dir, names, 'preprocess'),
        encoder: onnx(dir, names, 'encode'),
        uncachedDecoder: onnx(dir, names, 'uncached_decode'),
        cachedDecoder: onnx(dir, names, 'cached_decode'),
        tokens,
      };
    case 'parakeet':
      return {
        engine,
        encoder: onnx(dir, names, 'encoder'),
        decoder: onnx(dir, names, 'decoder'),
        joiner: onnx(dir, names, 'joiner'),
        tokens,
      };
  }
}

/**
 * The model directory for `engine`: config.sttModel when it names a directory or a sherpa-onnx STT
 * registry id, else the engine's default model (downloaded into the cache on first use).
 */
export async function obtainSherpaSttFiles(
  config: JuneConfig,
  engine: SherpaSttEngine,
  options: ResolveModelOptions = {},
): Promise<SherpaSttFiles> {
  const configured = config.sttModel;
  if (fs.existsSync(configured) && fs.statSync(configured).isDirectory())
    return sherpaSttFilesIn(engine, configured);
  const id = findModel(configured)?.kind === 'sherpa-stt' ? configured : DEFAULT_SHERPA_STT_MODEL[engine];
  return sherpaSttFilesIn(engine, await resolveModel(config, id, options));
}
