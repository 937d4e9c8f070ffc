/**
 * Resumable, verified file download.
 *
 * Bytes go to `dest.part`; an existing part is continued with a Range request. The finished part is checked
 * against the expected size and checksums and only then renamed to `dest`, so `dest` existing always means
 * "complete and verified". A part that fails verification is deleted (resuming it would never succeed); a
 * part left by a broken connection is kept so the next attempt, or the next run, picks up where it stopped.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { envNameFor } from '../config/schema.js';
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
import { fileSize, freeBytes, headerInt, parseContentRange, streamToFile, syncFile } from './part-file.js';

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

/** Everything one downloadFile call carries between its steps. */
interface Download {
  url: string;
  dest: string;
  part: string;
  info: ManualInstallInfo;
  options: DownloadOptions;
  logger: Logger;
  meter: ProgressMeter;
  digests: Digests;
  /** The server answered at least once: later connection failures are hiccups, not "offline". */
  reachable: boolean;
}

const PROGRESS_INTERVAL_MS = 100;

export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<void> {
  throwIfAborted(options.signal);
  const d: Download = {
    url,
    dest,
    part: dest + '.part',
    info: { label: options.label ?? path.basename(dest), url, dest, pathEnvVar: options.pathEnvVar },
    options,
    logger: options.logger ?? getLogger(),
    meter: new ProgressMeter(options.onProgress),
    digests: new Digests({ sha256: options.sha256, sha1: options.sha1 }),
    reachable: false,
  };
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  const resumedFromEarlierRun = (await fileSize(d.part)) > 0;
  await checkDiskSpace(d);

  await fetchWithRetries(d);
  try {
    await verifyAndCommit(d);
  } catch (err) {
    // A part kept from an earlier run may have been damaged meanwhile (or be from another version of the
    // file); one fresh download from byte 0 is cheaper than making the user run June again.
    if (!resumedFromEarlierRun || !(err instanceof ModelError) || err.code !== 'model_checksum') throw err;
    d.logger.warn({ url, dest }, `resumed download of ${d.info.label} was corrupt; downloading it again`);
    await fetchWithRetries(d);
    await verifyAndCommit(d);
  }
}

async function fetchWithRetries(d: Download): Promise<void> {
  const { signal } = d.options;
  const retries = d.options.retries ?? 3;
  let failures = 0;
  for (;;) {
    const before = d.meter.sessionBytes;
    try {
      return await fetchIntoPart(d);
    } catch (err) {
      if (signal?.aborted) throw abortReason(signal);
      if (err instanceof ModelError) throw err;
      // Only failures in a row count: a long download over a flaky link may break many times and still finish.
      if (d.meter.sessionBytes > before) failures = 0;
      const offline = isOfflineError(err);
      if (offline && !d.reachable) throw offlineError(d.info, err);
      const message = err instanceof Error ? err.message : String(err);
      if (!offline && !isTransientError(err))
        throw new ModelError(
          'model_download_failed',
          `Downloading ${d.info.label} from ${d.url} failed: ${message}`,
          err,
        );
      if (++failures > retries) {
        if (offline) throw offlineError(d.info, err);
        throw new ModelError(
          'model_download_failed',
          `Downloading ${d.info.label} from ${d.url} failed after ${retries + 1} attempts (${message}). Run June again to resume where it stopped.`,
          err,
        );
      }
      const delay = (d.options.retryDelayMs ?? 1000) * 2 ** (failures - 1);
      d.logger.warn(
        { url: d.url, err: message, attempt: failures, retryInMs: delay },
        `download of ${d.info.label} interrupted; resuming`,
      );
      await sleep(delay, signal);
    }
  }
}

/** One attempt: brings the part to the full file, or throws. The digests end up covering every byte of it. */
async function fetchIntoPart(d: Download): Promise<void> {
  const { part, logger, meter, digests, info } = d;
  const expected = d.options.expectedBytes;
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
  if (expected !== undefined && offset === expected && offset > 0) return meter.emit(); // finished earlier

  if (offset > 0) logger.info({ url: d.url, offset }, `resuming download of ${info.label}`);
  const { res } = await httpGet(d.url, {
    headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    signal: d.options.signal,
    timeoutMs: d.options.timeoutMs ?? 30_000,
  });
  d.reachable = true;

  const status = res.statusCode ?? 0;
  const length = headerInt(res.headers['content-length']);
  let start: number;
  let total: number | undefined;
  if (status === 200) {
    if (offset > 0) {
      logger.info({ url: d.url }, 'server ignored the Range request; downloading from the start');
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
    if (parseContentRange(res.headers['content-range'])?.total === offset) return meter.emit();
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
      `Downloading ${info.label} from ${d.url} failed: HTTP ${status}${hint}.`,
    );
  }

  if (expected !== undefined && total !== undefined && total !== expected) {
    res.destroy(); // do not fetch hundreds of megabytes of the wrong file
    throw new ModelError(
      'model_checksum',
      `The server offers ${total} bytes for ${info.label} but ${expected} were expected; refusing to download it. Check that ${d.url} is the right file.`,
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

async function verifyAndCommit(d: Download): Promise<void> {
  const { part, info, logger, digests } = d;
  const expected = d.options.expectedBytes;
  const size = await fileSize(part);
  const problems = digests.mismatches();
  if (expected !== undefined && size !== expected)
    problems.unshift(`size is ${size} bytes, expected ${expected}`);
  if (problems.length > 0) {
    await fsp.rm(part, { force: true });
    throw new ModelError(
      'model_checksum',
      `The download of ${info.label} from ${info.url} is corrupt: ${problems.join('; ')}. The partial file was removed; run June again to download it afresh.`,
    );
  }
  if (digests.active) logger.debug({ dest: d.dest, bytes: size }, `${info.label} verified`);
  else
    logger.warn(
      { url: info.url, dest: d.dest },
      `no published checksum for ${info.label}; integrity verification skipped`,
    );
  await syncFile(part);
  await fsp.rename(part, d.dest);
}

/** Fails before the first byte rather than after filling the disk. */
async function checkDiskSpace(d: Download): Promise<void> {
  const expected = d.options.expectedBytes;
  if (expected === undefined) return;
  const needed = expected - (await fileSize(d.part));
  const free = await freeBytes(path.dirname(d.dest));
  if (free === undefined || free >= needed) return;
  const mb = (n: number) => Math.ceil(n / 1e6);
  throw new ModelError(
    'model_download_failed',
    `Not enough disk space for ${d.info.label}: it needs ${mb(needed)} MB in ${path.dirname(d.dest)} but only ${mb(free)} MB are free. Free some space or point ${envNameFor('modelsDir')} at a larger disk.`,
  );
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
