/**
 * For `june start` and `june worker`: serves the `browse` capability (web pages in Chromium for plan
 * subtasks) when the worker is asked to (JUNE_WORKER_CAPABILITIES includes browse) and JUNE_BROWSE is not
 * off: with `auto` only where Chromium is found, with `on` a missing Chromium stops the start. Returns the
 * shutdown step that closes the browsers.
 */
import { BROWSE_CAPABILITY } from '../../browse/contract.js';
import { chromiumPresent } from '../../browse/chromium.js';
import type { JuneConfig } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import type { HandlerRegistry } from '../../tasks/handlers.js';
import type { TaskQueue } from '../../tasks/types.js';
import { ConfigError } from '../../util/errors.js';

export async function addBrowseCapability(
  handlers: HandlerRegistry,
  config: JuneConfig,
  logger: Logger,
  queue: TaskQueue,
): Promise<(() => Promise<void>) | undefined> {
  if (!config.workerCapabilities.includes(BROWSE_CAPABILITY) || config.browse === 'off') return undefined;
  if (!chromiumPresent(config.browseChromiumPath)) {
    const message = `Chromium was not found at ${config.browseChromiumPath}: install it (sudo apt-get install -y chromium) or set JUNE_BROWSE_CHROMIUM_PATH`;
    if (config.browse === 'on') throw new ConfigError('JUNE_BROWSE_CHROMIUM_PATH', message);
    logger.warn({ chromium: config.browseChromiumPath }, `browse is not served: ${message}`);
    return undefined;
  }
  const { registerBrowseHandler, closeBrowse } = await import('../../browse/handler.js');
  registerBrowseHandler(handlers, { config, logger, queue });
  return closeBrowse;
}
