/**
 * Where a dataset file comes from: `--problems FILE` when given, else the dataset cache (a `datasets`
 * folder in the model cache), downloaded on first use with the models' downloader (resume, checksum,
 * size, cross-process lock). With JUNE_OFFLINE=true a missing file is an error that says where to put it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { envNameFor, type JuneConfig } from '../config/schema.js';
import { downloadFile, type DownloadProgress } from '../models/download.js';
import { manualInstallHint } from '../models/failures.js';
import { acquireLock } from '../models/lock.js';
import { getLogger, type Logger } from '../observability/logger.js';
import { DATASETS, type DatasetId } from './datasets.js';
import { EvalError } from './errors.js';

export interface DatasetFileOptions {
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  logger?: Logger;
  /** Replaces the public URL's origin (tests, mirrors): `http://127.0.0.1:8080`. */
  baseUrl?: string;
}

type CacheConfig = Pick<JuneConfig, 'modelsDir' | 'offline'>;

export function datasetsDir(config: Pick<JuneConfig, 'modelsDir'>): string {
  const dir = config.modelsDir;
  const expanded = dir === '~' || dir.startsWith('~/') ? path.join(os.homedir(), dir.slice(1)) : dir;
  return path.resolve(expanded, 'datasets');
}

export function datasetUrl(id: DatasetId, baseUrl?: string): string {
  const url = new URL(DATASETS[id].url);
  return baseUrl ? baseUrl.replace(/\/+$/, '') + url.pathname : url.href;
}

/** A local file for the dataset: the cached copy, downloaded (and verified) if it is not there yet. */
export async function datasetFile(
  config: CacheConfig,
  id: DatasetId,
  options: DatasetFileOptions = {},
): Promise<string> {
  const source = DATASETS[id];
  const dest = path.join(datasetsDir(config), source.file);
  if (fs.existsSync(dest)) return dest;
  const url = datasetUrl(id, options.baseUrl);
  const hint = `${manualInstallHint({ label: id, url, dest })} Or pass the file with --problems FILE.`;
  if (config.offline)
    throw new EvalError(
      'eval_dataset_offline',
      `Dataset ${id} is not in the dataset cache and downloads are turned off (${envNameFor('offline')}=true). ${hint}`,
    );
  const logger = options.logger ?? getLogger();
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const lock = await acquireLock(dest + '.lock', { signal: options.signal });
  try {
    if (fs.existsSync(dest)) return dest;
    logger.info({ dataset: id, url, dest }, `downloading dataset ${id}`);
    await downloadFile(url, dest, {
      sha256: source.sha256,
      expectedBytes: source.sizeBytes,
      onProgress: options.onProgress,
      signal: options.signal,
      logger,
      label: `dataset ${id}`,
    });
    return dest;
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'model_offline')
      throw new EvalError(
        'eval_dataset_offline',
        `${err.message} Or pass the file with --problems FILE.`,
        err,
      );
    throw err;
  } finally {
    await lock.release();
  }
}
