/**
 * Imported by standalone workers (`june worker`, through src/tasks/handler-modules.ts): registers the
 * channel turn handler with send-only adapters, so a worker on another machine can answer Telegram and
 * Discord messages that `june start` received. Web voice messages are read from JUNE_DATA_DIR/uploads,
 * so a worker answers those when it shares the data directory with `june start`.
 */
import { loadConfig } from '../config/load.js';
import { getLogger } from '../observability/logger.js';
import { UploadStore } from '../web/uploads.js';
import { createWebAdapter } from '../web/web-adapter.js';
import { configuredAdapters, startChannelRuntime } from './runtime.js';

const config = loadConfig();
const logger = getLogger();
const web = createWebAdapter({
  uploads: UploadStore.forDataDir(config.dataDir),
  maxDownloadBytes: config.audioMaxBytes,
});
const runtime = await startChannelRuntime({
  config,
  logger,
  receive: false,
  adapters: [...(await configuredAdapters(config, logger)), web],
});

/** Frees the models and stores once the worker has drained, so the process can exit. */
export async function closeWorkerHandlers(): Promise<void> {
  await runtime.stop();
}
