/**
 * Sorting download failures into "the network is not there" (fail at once with instructions for a manual
 * install), "the connection hiccuped" (retry, resuming the .part), and everything else; and the messages
 * that tell the user how to get the file onto the machine themselves.
 */
import { envNameFor } from '../config/schema.js';
import { ModelError } from '../util/errors.js';
import { NetworkTimeoutError } from './http-get.js';

/** DNS failures, refused connections and unreachable networks: no retry will help while offline. */
const OFFLINE_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
]);

/** A connection that worked and then broke: resuming is worth a try. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/** The server answered with a status worth retrying (5xx, 429). */
export class RetryableStatusError extends Error {
  constructor(readonly status: number) {
    super(`server answered HTTP ${status}`);
    this.name = 'RetryableStatusError';
  }
}

/** The body ended before the promised length, or a resume answered with the wrong range. */
export class IncompleteBodyError extends Error {
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
}

/** The system error code, looking inside the AggregateError Node raises when every address of a host fails. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if (err instanceof AggregateError) for (const inner of err.errors) return errorCode(inner);
  return undefined;
}

export function isOfflineError(err: unknown): boolean {
  if (err instanceof NetworkTimeoutError) return err.phase === 'connect';
  return OFFLINE_CODES.has(errorCode(err) ?? '');
}

export function isTransientError(err: unknown): boolean {
  if (err instanceof RetryableStatusError || err instanceof IncompleteBodyError) return true;
  if (err instanceof NetworkTimeoutError) return err.phase === 'body';
  return TRANSIENT_CODES.has(errorCode(err) ?? '') || (err instanceof Error && err.message === 'aborted');
}

/** What a download is for, so errors can say which model failed and how to install it by hand. */
export interface ManualInstallInfo {
  /** Model id or file name shown to the user. */
  label: string;
  url: string;
  dest: string;
  /** Environment variable that can point June at a local copy instead. */
  pathEnvVar?: string;
}

export function manualInstallHint(info: ManualInstallInfo): string {
  const env = info.pathEnvVar ? `, or set ${info.pathEnvVar} to the path of a copy you already have` : '';
  return `To install it by hand, download ${info.url} on a machine with internet access and place the file at ${info.dest}${env}.`;
}

export function offlineError(info: ManualInstallInfo, cause: unknown): ModelError {
  const code = errorCode(cause) ?? (cause instanceof Error ? cause.message : String(cause));
  const host = new URL(info.url).host;
  return new ModelError(
    'model_offline',
    `Cannot download model ${info.label}: ${host} is not reachable (${code}). ${manualInstallHint(info)}`,
    cause,
  );
}

export function notFoundError(info: ManualInstallInfo, status: number): ModelError {
  return new ModelError(
    'model_not_found',
    `Model ${info.label} was not found at ${info.url} (HTTP ${status}). If you use a mirror, check ${envNameFor('modelBaseUrl')}. ${manualInstallHint(info)}`,
  );
}
