/**
 * What every CLI command needs: the validated config, a logger at the configured level, and (lazily)
 * the providers. Engines are only loaded by commands that use them.
 */
import { loadConfig } from '../config/load.js';
import type { JuneConfig } from '../config/schema.js';
import { createLogger, setLogger, type Logger } from '../observability/logger.js';
import { setupOtlpTracing } from '../observability/otlp.js';
import { setupTracing } from '../observability/tracing.js';

export interface CliContext {
  config: JuneConfig;
  logger: Logger;
}

let ctx: CliContext | undefined;
let tracingInstalled = false;

export function cliContext(
  overrides: Record<string, unknown> = {},
  options: { server?: boolean } = {},
): CliContext {
  if (ctx && Object.keys(overrides).length === 0) return ctx;
  const config = loadConfig({ overrides });
  // CLI output is the answer; logs stay quiet (errors only) unless JUNE_LOG_LEVEL asks for more
  const level = process.env.JUNE_LOG_LEVEL || options.server ? config.logLevel : 'error';
  const logger = createLogger(level);
  setLogger(logger);
  if (!tracingInstalled && config.tracing !== 'none') {
    tracingInstalled = true;
    if (config.tracing === 'console') setupTracing('console');
    else setupOtlpTracing(process.env, (err) => logger.warn({ err: String(err) }, 'OTLP span export failed'));
  }
  ctx = { config, logger };
  return ctx;
}
