/**
 * Structured logging (pino). Secrets are redacted by path so a config object or request header
 * logged by mistake never prints a key.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

const redactPaths = [
  'llmApiKey',
  'sttApiKey',
  'ttsApiKey',
  '*.llmApiKey',
  '*.sttApiKey',
  '*.ttsApiKey',
  'telegramToken',
  '*.telegramToken',
  'discordToken',
  '*.discordToken',
  'apiTokens',
  '*.apiTokens',
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
];

let root: Logger | undefined;

/** Logs go to stderr so that stdout stays clean for command output (`june ask --json`). */
export function createLogger(level = process.env.JUNE_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    { level, base: { app: 'june' }, redact: { paths: redactPaths, censor: '[redacted]' } },
    pino.destination({ fd: 2, sync: true }),
  );
}

export function getLogger(): Logger {
  root ??= createLogger();
  return root;
}

export function setLogger(logger: Logger): void {
  root = logger;
}
