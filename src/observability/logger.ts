/**
 * Structured logging (pino). Secrets are redacted by path so a config object or request header
 * logged by mistake never prints a key, and every line is scrubbed of credentials (src/util/redact.ts)
 * so an error message that quotes one does not print it either. While a span is active, each line carries
 * its `trace_id` and `span_id`, so the logs of one message can be found from its trace and back.
 */
import { pino, type Logger } from 'pino';
import { secretKeys } from '../config/schema.js';
import { redact, REDACTED } from '../util/redact.js';
import { activeTraceIds } from './trace-context.js';

export type { Logger };

/** Fields never printed: every option marked secret in the config schema, and credential headers. */
const secretFields = [...secretKeys, 'apiKey', 'token', 'authorization'];
const redactPaths = [
  ...secretFields.flatMap((k) => [k, `*.${k}`]),
  'headers.authorization',
  '*.headers.authorization',
];

let root: Logger | undefined;

/**
 * Logs go to stderr so that stdout stays clean for command output (`june ask --json`); `destination` (a file
 * descriptor or path) sends them elsewhere.
 */
export function createLogger(
  level = process.env.JUNE_LOG_LEVEL ?? 'info',
  destination: number | string = 2,
): Logger {
  return pino(
    {
      level,
      base: { app: 'june' },
      // the line joins the trace of the message being handled (empty when nothing is traced)
      mixin: activeTraceIds,
      redact: { paths: redactPaths, censor: REDACTED },
      // the whole line, scrubbed: an error message quoting a server's answer or a URL may hold a key
      hooks: { streamWrite: redact },
    },
    pino.destination({ dest: destination, sync: true }),
  );
}

export function getLogger(): Logger {
  root ??= createLogger();
  return root;
}

export function setLogger(logger: Logger): void {
  root = logger;
}
