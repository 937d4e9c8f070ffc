/**
 * The model cache: where a model lives on disk, whether it is there, and getting it there.
 *
 * `resolveModel` is what providers call with a config value (JUNE_STT_MODEL, JUNE_LLM_MODEL_PATH): a path to
 * an existing file is used as is; a known model id is taken from config.modelsDir, downloading it on first
 * use (with a progress bar on stderr unless the caller passes its own onProgress). Downloads of the same
 * file are shared within the process and serialised across processes by a lock file next to it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JuneConfig } from '../config/schema.js';
import { envNameFor } from '../config/schema.js';
import { getLogger, type Logger } from '../observability/logger.js';
import { ModelError } from '../util/errors.js';
import { downloadFile, type DownloadProgress } from './download.js';
import { manualInstallHint } from './failures.js';
import { acquireLock } from './lock.js';
import { createProgressBar } from './progress.js';
import { MODELS, findModel, modelUrl, pathEnvVarFor, type ModelEntry, type ModelKind } from './registry.js';
import { SharedJobs } from './shared-jobs.js';

export interface ResolveModelOptions {
  /** Progress of a download; without it a progress bar is drawn on stderr. */
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  logger?: Logger;
}

export interface ModelListing {
  id: string;
  kind: ModelKind;
  cached: boolean;
  path: string;
  sizeBytes: number;
  description: string;
  license: string;
}

type ModelsConfig = Pick<JuneConfig, 'modelsDir' | 'modelBaseUrl' | 'offline'>;

const downloads = new SharedJobs<string>();

/** Where model `id` is (or will be) stored. Throws model_not_found for an unknown id. */
export function modelPath(config: Pick<JuneConfig, 'modelsDir'>, id: string): string {
  return path.resolve(expandHome(config.modelsDir), requireModel(id).file);
}

/** True when the model's file is in the cache. Only verified downloads are ever renamed into place. */
export function isModelCached(config: Pick<JuneConfig, 'modelsDir'>, id: string): boolean {
  return isFile(modelPath(config, id));
}

export function listModels(config: Pick<JuneConfig, 'modelsDir'>): ModelListing[] {
  return MODELS.map((m) => {
    const file = modelPath(config, m.id);
    return {
      id: m.id,
      kind: m.kind,
      cached: isFile(file),
      path: file,
      sizeBytes: m.sizeBytes,
      description: m.description,
      license: m.license,
    };
  });
}

/** A usable local file for `idOrPath`: the path itself, or the cached (downloaded if need be) model. */
export async function resolveModel(
  config: ModelsConfig,
  idOrPath: string,
  options: ResolveModelOptions = {},
): Promise<string> {
  const asPath = expandHome(idOrPath);
  if (isFile(asPath)) return asPath;
  const entry = findModel(idOrPath);
  if (entry) return ensureModel(config, entry, options);
  if (looksLikePath(idOrPath))
    throw new ModelError('model_not_found', `Model file ${asPath} does not exist.`);
  throw unknownModel(idOrPath);
}

/** Downloads a known model into the cache if it is not there yet (`june models pull`). Returns its path. */
export async function pullModel(
  config: ModelsConfig,
  id: string,
  options: ResolveModelOptions = {},
): Promise<string> {
  return ensureModel(config, requireModel(id), options);
}

async function ensureModel(
  config: ModelsConfig,
  entry: ModelEntry,
  options: ResolveModelOptions,
): Promise<string> {
  const dest = modelPath(config, entry.id);
  if (isFile(dest)) return dest;
  const url = modelUrl(config.modelBaseUrl, entry);
  const pathEnvVar = pathEnvVarFor(entry.kind);
  if (config.offline) {
    const hint = manualInstallHint({ label: entry.id, url, dest, pathEnvVar });
    throw new ModelError(
      'model_offline',
      `Model ${entry.id} is not in the model cache and downloads are turned off (${envNameFor('offline')}=true). ${hint} Or unset ${envNameFor('offline')} to let June download it (${Math.round(entry.sizeBytes / 1e6)} MB).`,
    );
  }
  const logger = options.logger ?? getLogger();
  // The bar belongs to the job: a second caller without onProgress must not draw a second one.
  const bar = options.onProgress ? undefined : createProgressBar({ label: entry.id });
  return downloads.run(dest, options, async ({ signal, onProgress }) => {
    const lock = await acquireLock(dest + '.lock', {
      signal,
      onWait: (owner) =>
        logger.info(
          { model: entry.id, pid: owner?.pid },
          `waiting for another June process downloading ${entry.id}`,
        ),
    });
    try {
      if (isFile(dest)) return dest; // the other process finished it while we waited
      logger.info({ model: entry.id, url, dest, bytes: entry.sizeBytes }, `downloading model ${entry.id}`);
      await downloadFile(url, dest, {
        sha256: entry.sha256,
        sha1: entry.sha1,
        expectedBytes: entry.sizeBytes,
        onProgress: (p) => {
          bar?.update(p);
          onProgress(p);
        },
        signal,
        logger,
        label: entry.id,
        pathEnvVar,
      });
      logger.info({ model: entry.id, dest }, `model ${entry.id} downloaded`);
      return dest;
    } finally {
      bar?.done();
      await lock.release();
    }
  });
}

function requireModel(id: string): ModelEntry {
  const entry = findModel(id);
  if (!entry) throw unknownModel(id);
  return entry;
}

function unknownModel(id: string): ModelError {
  return new ModelError(
    'model_not_found',
    `Unknown model "${id}". Known models: ${MODELS.map((m) => m.id).join(', ')}; or give the path of a model file.`,
  );
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function looksLikePath(value: string): boolean {
  return value.includes('/') || value.includes(path.sep) || /\.(bin|gguf)$/i.test(value);
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}
