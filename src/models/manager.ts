/**
 * The model cache: where a model lives on disk, whether it is there, and getting it there.
 *
 * `resolveModel` is what providers call with a config value (JUNE_STT_MODEL, JUNE_LLM_MODEL_PATH): a path to
 * an existing file is used as is; a known model id is taken from config.modelsDir, downloading it on first
 * use (with a progress bar on stderr unless the caller passes its own onProgress). Downloads of the same
 * file are shared within the process and serialised across processes by a lock file next to it.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { envNameFor, type JuneConfig } from '../config/schema.js';
import { getLogger, type Logger } from '../observability/logger.js';
import { ModelError } from '../util/errors.js';
import { downloadFile, type DownloadProgress } from './download.js';
import { manualInstallHint } from './failures.js';
import { acquireLock } from './lock.js';
import { createProgressBar } from './progress.js';
import { extractArchive, isExtracted } from './archive.js';
import {
  MODELS,
  findModel,
  modelBaseUrlFor,
  modelUrl,
  pathEnvVarFor,
  type ModelEntry,
  type ModelKind,
} from './registry.js';
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

type ModelsConfig = Pick<JuneConfig, 'modelsDir' | 'modelBaseUrl' | 'offline'> &
  Partial<Pick<JuneConfig, 'modelReleaseBaseUrl'>>;
type DirConfig = Pick<JuneConfig, 'modelsDir'>;

export interface ModelManager {
  /** Where model `id` is (or will be) stored. Throws model_not_found for an unknown id. */
  modelPath(config: DirConfig, id: string): string;
  /** True when the model's file is in the cache. Only verified downloads are ever renamed into place. */
  isModelCached(config: DirConfig, id: string): boolean;
  listModels(config: DirConfig): ModelListing[];
  /** A usable local file for `idOrPath`: the path itself, or the cached (downloaded if need be) model. */
  resolveModel(config: ModelsConfig, idOrPath: string, options?: ResolveModelOptions): Promise<string>;
  /** Downloads a known model into the cache if it is not there yet (`june models pull`). Returns its path. */
  pullModel(config: ModelsConfig, id: string, options?: ResolveModelOptions): Promise<string>;
}

/** Downloads in flight in this process, by destination path (shared by every manager). */
const downloads = new SharedJobs<string>();

/**
 * A manager over a catalogue of models. June uses the one over the built-in registry (the functions
 * exported below); a different catalogue serves models the registry does not list, e.g. from a private mirror.
 */
export function createModelManager(models: readonly ModelEntry[] = MODELS): ModelManager {
  const requireModel = (id: string): ModelEntry => {
    const entry = findModel(id, models);
    if (!entry) throw unknownModel(id, models);
    return entry;
  };
  // An archive's model is the directory it unpacks into; any other model is its file.
  const modelPath = (config: DirConfig, id: string) => {
    const entry = requireModel(id);
    return path.resolve(expandHome(config.modelsDir), entry.archiveDir ?? entry.file);
  };
  const cached = (entry: ModelEntry, where: string) =>
    entry.archiveDir ? isExtracted(where) : isFile(where);

  return {
    modelPath,
    isModelCached: (config, id) => cached(requireModel(id), modelPath(config, id)),
    listModels: (config) =>
      models.map((m) => {
        const file = modelPath(config, m.id);
        return {
          id: m.id,
          kind: m.kind,
          cached: cached(m, file),
          path: file,
          sizeBytes: m.sizeBytes,
          description: m.description,
          license: m.license,
        };
      }),
    async resolveModel(config, idOrPath, options = {}) {
      const asPath = expandHome(idOrPath);
      if (isFile(asPath) || isExtracted(asPath)) return asPath;
      const entry = findModel(idOrPath, models);
      if (entry) return ensureModel(config, entry, modelPath(config, entry.id), options);
      if (looksLikePath(idOrPath))
        throw new ModelError('model_not_found', `Model file ${asPath} does not exist.`);
      throw unknownModel(idOrPath, models);
    },
    async pullModel(config, id, options = {}) {
      const entry = requireModel(id);
      return ensureModel(config, entry, modelPath(config, entry.id), options);
    },
  };
}

const builtIn = createModelManager(MODELS);
export const modelPath = builtIn.modelPath;
export const isModelCached = builtIn.isModelCached;
export const listModels = builtIn.listModels;
export const resolveModel = builtIn.resolveModel;
export const pullModel = builtIn.pullModel;

async function ensureModel(
  config: ModelsConfig,
  entry: ModelEntry,
  dest: string,
  options: ResolveModelOptions,
): Promise<string> {
  const done = () => (entry.archiveDir ? isExtracted(dest) : isFile(dest));
  if (done()) return dest;
  const url = modelUrl(
    modelBaseUrlFor({ modelReleaseBaseUrl: 'https://github.com', ...config }, entry),
    entry,
  );
  // An archive downloads next to the directory it unpacks into, and is removed once unpacked.
  const file = entry.archiveDir ? path.join(path.dirname(dest), entry.file) : dest;
  const pathEnvVar = pathEnvVarFor(entry.kind);
  if (config.offline && !(entry.archiveDir && isFile(file))) {
    const hint = manualInstallHint({ label: entry.id, url, dest: file, pathEnvVar });
    throw new ModelError(
      'model_offline',
      `Model ${entry.id} is not in the model cache and downloads are turned off (${envNameFor('offline')}=true). ${hint} Or unset ${envNameFor('offline')} to let June download it (${Math.round(entry.sizeBytes / 1e6)} MB).`,
    );
  }
  const logger = options.logger ?? getLogger();
  // The bar belongs to the job: a second caller without onProgress must not draw a second one.
  const bar = options.onProgress ? undefined : createProgressBar({ label: entry.id });
  return downloads.run(dest, options, async ({ signal, onProgress }) => {
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const lock = await acquireLock(file + '.lock', {
      signal,
      onWait: (owner) =>
        logger.info(
          { model: entry.id, pid: owner?.pid },
          `waiting for another June process downloading ${entry.id}`,
        ),
    });
    try {
      if (done()) return dest; // the other process finished it while we waited
      logger.info({ model: entry.id, url, dest, bytes: entry.sizeBytes }, `downloading model ${entry.id}`);
      if (!isFile(file))
        await downloadFile(url, file, {
          sha256: entry.sha256,
          sha1: entry.sha1,
          ...(entry.sizeApproximate ? {} : { expectedBytes: entry.sizeBytes }),
          onProgress: (p) => {
            bar?.update(p);
            onProgress(p);
          },
          signal,
          logger,
          label: entry.id,
          pathEnvVar,
        });
      if (entry.archiveDir) {
        logger.info({ model: entry.id, dest }, `unpacking model ${entry.id}`);
        await extractArchive(file, dest, { signal, label: entry.id });
        await fsp.rm(file, { force: true });
      }
      logger.info({ model: entry.id, dest }, `model ${entry.id} downloaded`);
      return dest;
    } finally {
      bar?.done();
      await lock.release();
    }
  });
}

function unknownModel(id: string, models: readonly ModelEntry[]): ModelError {
  return new ModelError(
    'model_not_found',
    `Unknown model "${id}". Known models: ${models.map((m) => m.id).join(', ')}; or give the path of a model file.`,
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
