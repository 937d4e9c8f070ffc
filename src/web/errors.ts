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
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'invalid_request'
  | 'rate_limited'
  | 'not_ready'
  | 'internal';

const STATUS: Record<ApiErrorCode, number> = {
  bad_token: 401,
  forbidden: 403,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_request: 400,
  rate_limited: 429,
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

/** Fastify's own error codes (body parsing, multipart limits) mapped onto ours. */
function fromFastify(err: FastifyError, maxBytes: number): ApiError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new ApiError(
        'payload_too_large',
        `The request body is too large (the limit is ${maxBytes} bytes of audio).`,
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
    default:
      if (err instanceof SyntaxError) return new ApiError('invalid_request', err.message, 'body');
      return undefined;
  }
}

export function errorHandler(maxBytes: number, logger: Logger) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const api = err instanceof ApiError ? err : fromFastify(err, maxBytes);
    if (api) {
      void reply.status(api.status).send(errorBody(api.code, api.message, api.field));
      return;
    }
    // other 4xx from Fastify (malformed URL, …) keep their status; anything else is our bug
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      void reply.status(err.statusCode).send(errorBody('invalid_request', err.message));
      return;
    }
    logger.error({ err, url: req.url, method: req.method }, 'web API request failed');
    void reply.status(500).send(errorBody('internal', 'Something went wrong on the server.'));
  };
}

export function notFoundHandler(req: FastifyRequest, reply: FastifyReply): void {
  void reply
    .status(404)
    .send(errorBody('not_found', `No route ${req.method} ${req.url.split('?')[0] ?? ''}.`));
}
