/**
 * Imported by standalone workers (`june worker`, through src/tasks/handler-modules.ts): registers the
 * channel turn handler with send-only adapters, so a worker on another machine can answer Telegram and
 * Discord messages that `june start` received.
 */
import { loadConfig } from '../config/load.js';
import { getLogger } from '../observability/logger.js';
import { startChannelRuntime } from './runtime.js';

await startChannelRuntime({ config: loadConfig(), logger: getLogger(), receive: false });
