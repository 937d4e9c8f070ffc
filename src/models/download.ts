/**
 * Resumable, verified file download.
 *
 * Bytes go to `dest.part`; an existing part is continued with a Range request. The finished part is checked
 * against the expected size and checksums and only then renamed to `dest`, so `dest` existing always means
 * "complete and verified". A part that fails verification is deleted (resuming it would never succeed); a
 * part left by a broken connection is kept so the next attempt, or the next run, picks up where it stopped.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { getLogger, type Logger } from '../observability/logger.js';
import { abortReason, sleep, throwIfAborted } from '../util/abort.js';
import { ModelError } from '../util/errors.js';
import { Digests } from './checksum.js';
import {
  IncompleteBodyError,
  RetryableStatusError,
  isOfflineError,
  isTransientError,
  notFoundError,
  offlineError,
  type ManualInstallInfo,
} from './failures.js';
import { httpGet } from './http-get.js';

export interface DownloadProgress {
  /** Bytes in the file so far, including those kept from an earlier attempt. */
  received: number;
  /** Full size, when the server or the caller knows it. */
  total?: number;
  /** Average speed of this call (resumed bytes excluded). */
  bytesPerSec: number;
}

export interface DownloadOptions {
  sha256?: string;
  sha1?: string;
  expectedBytes?: number;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  logger?: Logger;
  /** Further attempts after a transient failure (reset, stall, 5xx) that made no progress. Default 3. */
  retries?: number;
  /** First retry delay; doubles each time. Default 1000 ms. */
  retryDelayMs?: number;
  /** Socket inactivity limit while connecting and while receiving. Default 30 s. */
  timeoutMs?: number;
  /** Name used in messages (model id); default: the file name. */
  label?: string;
  /** Environment variable that points June at a local copy; named in the "offline" message. */
  pathEnvVar?: string;
}

const PROGRESS_INTERVAL_MS = 100;

export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<void> {
  const { signal } = options;
  const logger = options.logger ?? getLogger();
  const retries = options.retries ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const part = dest + '.part';
  const info: ManualInstallInfo = {
    label: options.label ?? path.basename(dest),
    url,
    dest,
    pathEnvVar: options.pathEnvVar,
  };
  throwIfAborted(signal);
  await fsp.mkdir(path.dirname(dest), { recursive: true });

  const meter = new ProgressMeter(options.onProgress);
  const digests = new Digests({ sha256: options.sha256, sha1: options.sha1 });
  const state = { reachable: false };
  let failures = 0;
  for (;;) {
    const before = meter.sessionBytes;
    try {
      await fetchIntoPart(url, part, info, options, logger, meter, digests, state);
      break;
    } catch (err) {
      if (signal?.aborted) throw abortReason(signal);
      if (err instanceof ModelError) throw err;
      // Only failures in a row count: a long download over a flaky link may break many times and still finish.
      if (meter.sessionBytes > before) failures = 0;
      const offline = isOfflineError(err);
      if (offline && !state.reachable) throw offlineError(info, err);
      const message = err instanceof Error ? err.message : String(err);
      if (!offline && !isTransientError(err))
        throw new ModelError(
          'model_download_failed',
          `Downloading ${info.label} from ${url} failed: ${message}`,
          err,
        );
      if (++failures > retries) {
        if (offline) throw offlineError(info, err);
        throw new ModelError(
          'model_download_failed',
          `Downloading ${info.label} from ${url} failed after ${retries + 1} attempts (${message}). Run June again to resume where it stopped.`,
          err,
        );
      }
      const delay = retryDelayMs * 2 ** (failures - 1);
      logger.warn(
        { url, err: message, attempt: failures, retryInMs: delay },
        `download of ${info.label} interrupted; resuming`,
      );
      await sleep(delay, signal);
    }
  }

  await verifyAndCommit(part, dest, info, options, logger, digests);
}

/** One attempt: brings `part` to the full file, or throws. `digests` ends up covering every byte of it. */
async function fetchIntoPart(
  url: string,
  part: string,
  info: ManualInstallInfo,
  options: DownloadOptions,
  logger: Logger,
  meter: ProgressMeter,
  digests: Digests,
  state: { reachable: boolean },
): Promise<void> {
  const expected = options.expectedBytes;
  let offset = await fileSize(part);
  if (expected !== undefined && offset > expected) {
    logger.info({ part, offset, expected }, 'partial download is larger than the file; starting over');
    await fsp.rm(part, { force: true });
    offset = 0;
  }
  // The digests are rebuilt from disk on every attempt: what is in the part is what gets hashed.
  digests.reset();
  await digests.updateFromFile(part, offset);
  meter.start(offset, expected);
  if (expected !== undefined && offset === expected && offset > 0) return; // finished by an earlier run

  if (offset > 0) logger.info({ url, offset }, `resuming download of ${info.label}`);
  const { res } = await httpGet(url, {
    headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? 30_000,
  });
  state.reachable = true;

  const status = res.statusCode ?? 0;
  const length = headerInt(res.headers['content-length']);
  let start: number;
  let total: number | undefined;
  if (status === 200) {
    if (offset > 0) {
      logger.info({ url }, 'server ignored the Range request; downloading from the start');
      digests.reset();
    }
    start = 0;
    total = length;
  } else if (status === 206) {
    const range = parseContentRange(res.headers['content-range']);
    if (range?.start !== offset) {
      res.destroy();
      await fsp.rm(part, { force: true });
      throw new IncompleteBodyError(`server resumed at the wrong offset (${res.headers['content-range']})`);
    }
    start = offset;
    total = range.total ?? (length === undefined ? undefined : offset + length);
  } else if (status === 416) {
    res.resume();
    // "Range not satisfiable": either the part is already complete, or it is longer than the file.
    if (parseContentRange(res.headers['content-range'])?.total === offset) return;
    await fsp.rm(part, { force: true });
    throw new IncompleteBodyError('partial download does not fit the file on the server; starting over');
  } else {
    res.resume();
    if (status === 404 || status === 410) throw notFoundError(info, status);
    if (status === 429 || status >= 500) throw new RetryableStatusError(status);
    const hint =
      status === 401 || status === 403 ? ' (access denied; a private mirror may need credentials)' : '';
    throw new ModelError(
      'model_download_failed',
      `Downloading ${info.label} from ${url} failed: HTTP ${status}${hint}.`,
    );
  }

  if (expected !== undefined && total !== undefined && total !== expected) {
    res.destroy(); // do not fetch hundreds of megabytes of the wrong file
    throw new ModelError(
      'model_checksum',
      `The server offers ${total} bytes for ${info.label} but ${expected} were expected; refusing to download it. Check that ${url} is the right file.`,
    );
  }

  meter.start(start, total ?? expected);
  await streamToFile(res, part, start > 0 ? 'a' : 'w', (chunk) => {
    digests.update(chunk);
    meter.add(chunk.length);
  });
  meter.emit();
  if (total !== undefined && meter.received < total)
    throw new IncompleteBodyError(`connection closed after ${meter.received} of ${total} bytes`);
}

/**
 * Copies the body into the file. Unlike stream.pipeline, a broken body still lets the bytes already received
 * reach the disk (the file is ended, not destroyed), so the next attempt resumes from all of them.
 */
function streamToFile(
  source: Readable,
  file: string,
  flags: 'a' | 'w',
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = fs.createWriteStream(file, { flags });
    let ended = false;
    let failure: unknown;
    const stop = (err: unknown) => {
      if (ended) return;
      ended = true;
      failure = err;
      out.end();
    };
    source.on('data', (chunk: Buffer) => {
      onChunk(chunk);
      if (!out.write(chunk)) {
        source.pause();
        out.once('drain', () => source.resume());
      }
    });
    source.once('end', () => stop(undefined));
    source.once('error', stop);
    source.once('close', () => stop(new IncompleteBodyError('connection closed before the end of the file')));
    out.once('finish', () => (failure === undefined ? resolve() : reject(failure)));
    out.once('error', (err) => {
      source.destroy();
      reject(err);
    });
  });
}

async function verifyAndCommit(
  part: string,
  dest: string,
  info: ManualInstallInfo,
  options: DownloadOptions,
  logger: Logger,
  digests: Digests,
): Promise<void> {
  const size = await fileSize(part);
  const problems = digests.mismatches();
  if (options.expectedBytes !== undefined && size !== options.expectedBytes)
    problems.unshift(`size is ${size} bytes, expected ${options.expectedBytes}`);
  if (problems.length > 0) {
    await fsp.rm(part, { force: true });
    throw new ModelError(
      'model_checksum',
      `The download of ${info.label} from ${info.url} is corrupt: ${problems.join('; ')}. The partial file was removed; run June again to download it afresh.`,
    );
  }
  if (digests.active) logger.debug({ dest, bytes: size }, `${info.label} verified`);
  else
    logger.warn(
      { url: info.url, dest },
      `no published checksum for ${info.label}; integrity verification skipped`,
    );

  // Flush to disk before the rename, so a crash cannot leave a complete-looking but empty file behind.
  const handle = await fsp.open(part, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(part, dest);
}

/** Throttled progress reports with the speed of this call. */
class ProgressMeter {
  received = 0;
  sessionBytes = 0;
  private total: number | undefined;
  private readonly startedAt = Date.now();
  private lastEmit = 0;

  constructor(private readonly onProgress: ((p: DownloadProgress) => void) | undefined) {}

  start(received: number, total: number | undefined): void {
    this.received = received;
    this.total = total;
  }

  add(bytes: number): void {
    this.received += bytes;
    this.sessionBytes += bytes;
    if (Date.now() - this.lastEmit >= PROGRESS_INTERVAL_MS) this.emit();
  }

  emit(): void {
    if (!this.onProgress) return;
    this.lastEmit = Date.now();
    const seconds = Math.max((this.lastEmit - this.startedAt) / 1000, 0.001);
    const p: DownloadProgress = { received: this.received, bytesPerSec: this.sessionBytes / seconds };
    if (this.total !== undefined) p.total = this.total;
    this.onProgress(p);
  }
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await fsp.stat(file)).size;
  } catch {
    return 0;
  }
}

function headerInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** "bytes 100-199/1000" → {start: 100, total: 1000}; "bytes *\/1000" → {start: undefined, total: 1000}. */
function parseContentRange(value: string | undefined): { start?: number; total?: number } | undefined {
  const m = /^bytes (?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (!m) return undefined;
  return {
    start: m[1] === undefined ? undefined : Number(m[1]),
    total: m[2] === '*' || m[2] === undefined ? undefined : Number(m[2]),
  };
}
