/** What the web routes share. */
import type { ChannelRuntime } from '../channels/runtime.js';
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { TaskQueue } from '../tasks/types.js';
import type { SseHub } from './sse.js';
import type { UploadStore } from './uploads.js';
import type { WebChannelAdapter } from './web-adapter.js';

export interface WebDeps {
  config: JuneConfig;
  queue: TaskQueue;
  runtime: ChannelRuntime;
  logger: Logger;
  adapter: WebChannelAdapter;
  uploads: UploadStore;
  sse: SseHub;
}
