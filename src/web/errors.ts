/**
 * API errors: every failure answers `{ error: { code, message } }` with a stable code, whatever raised it
 * (our own checks, Fastify's body parsing, multipart limits, an unexpected bug).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../observability/logger.js';

export type ApiErrorCode =
  | 'bad_token'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'request_timeout'
  | 'payload_too_large'
  | 'uri_too_long'
  | 'unsupported_media_type'
  | 'headers_too_large'
  | 'invalid_request'
  | 'rate_limited'
  | 'too_many_connections'
  | 'not_ready'
  | 'internal';

const STATUS: Record<ApiErrorCode, number> = {
  bad_token: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  request_timeout: 408,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  headers_too_large: 431,
  invalid_request: 400,
  rate_limited: 429,
  too_many_connections: 429,
  not_ready: 503,
  internal: 500,
};

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    /** The request field at fault (invalid_request). */
    readonly field?: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

export function errorBody(code: string, message: string, field?: string): ErrorBody {
  return { error: { code, message, ...(field ? { field } : {}) } };
}

/** The limits the messages name. */
export interface BodyLimits {
  jsonBytes: number;
  audioBytes: number;
}

/** 1048576 → "1 MB"; 20971520 → "20 MB"; 1500 → "1500 bytes". */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MB`;
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KB`;
  return `${n} bytes`;
}

/** Fastify's own error codes (body parsing, multipart limits, URL parsing) mapped onto ours. */
function fromFastify(err: FastifyError, limits: BodyLimits): ApiError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(
        'payload_too_large',
        `The JSON body is too large (the limit is ${formatBytes(limits.jsonBytes)}; recordings go as ` +
          `multipart/form-data, up to ${formatBytes(limits.audioBytes)}).`,
      );
    case 'FST_REQ_FILE_TOO_LARGE':
      return new ApiError(
        'payload_too_large',
        `The recording is too large (the limit is ${formatBytes(limits.audioBytes)}).`,
      );
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new ApiError(
        'payload_too_large',
        'The form has too many parts (one "audio" file and at most 10 short fields).',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new ApiError(
        'unsupported_media_type',
        'Send application/json ({"text": …}) or multipart/form-data with an "audio" file.',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError('invalid_request', `The JSON body cannot be read: ${err.message}`, 'body');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('invalid_request', 'The Content-Length header does not match the body.');
    case 'FST_ERR_BAD_URL':
      return new ApiError('invalid_request', 'The URL is not valid (a bad %-encoding).');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError('uri_too_long', 'A part of the URL is too long (the limit is 100 characters).');
    default:
      if (err instanceof SyntaxError) return new ApiError('invalid_request', err.message, 'body');
      return undefined;
  }
}

export function errorHandler(limits: BodyLimits, logger: Logger) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const api = err instanceof ApiError ? err : fromFastify(err, limits);
    if (api) {
      if (api.status !== 401 && api.status !== 404)
        logger.info(
          { code: api.code, method: req.method, url: req.url.split('?')[0]?.slice(0, 200) },
          `request refused: ${api.message}`,
        );
      void reply.status(api.status).send(errorBody(api.code, api.message, api.field));
      return;
    }
    // other 4xx from Fastify keep their status; anything else is our bug
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      logger.info({ code: err.code, method: req.method }, `request refused: ${err.message}`);
      void reply.status(err.statusCode).send(errorBody('invalid_request', err.message));
      return;
    }
    logger.error({ err, url: req.url, method: req.method }, 'web API request failed');
    void reply.status(500).send(errorBody('internal', 'Something went wrong on the server.'));
  };
}

/** A route pattern (/v1/tasks/:id) as a test on concrete paths. */
function patternOf(url: string): RegExp {
  const body = url
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}/?$`);
}

/**
 * 404 for paths no route serves; 405 with an Allow header for paths that exist under other methods. Both
 * with the usual error body.
 */
export function notFoundHandler(routes: ReadonlyArray<{ method: string; url: string }>) {
  const known = routes.map((r) => ({ method: r.method, test: patternOf(r.url) }));
  return (req: FastifyRequest, reply: FastifyReply): void => {
    const path = req.url.split('?')[0] ?? '';
    const allowed = [...new Set(known.filter((r) => r.test.test(path)).map((r) => r.method))];
    if (allowed.length > 0) {
      if (allowed.includes('GET')) allowed.push('HEAD');
      void reply
        .status(405)
        .header('allow', allowed.join(', '))
        .send(
          errorBody(
            'method_not_allowed',
            `${path.slice(0, 200)} answers ${allowed.join(', ')}, not ${req.method}.`,
          ),
        );
      return;
    }
    void reply.status(404).send(errorBody('not_found', `No route ${req.method} ${path.slice(0, 200)}.`));
  };
}
