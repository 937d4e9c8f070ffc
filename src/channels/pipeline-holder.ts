/**
 * One voice pipeline per process, built on first use and shared by every task: models stay loaded
 * between requests.
 */
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { VoicePipeline } from '../pipeline/voice-pipeline.js';
import { createProviders, type Providers } from '../providers/factory.js';

export interface PipelineHolder {
  get(): Promise<VoicePipeline>;
  close(): Promise<void>;
}

export function pipelineHolder(config: JuneConfig, logger: Logger): PipelineHolder {
  let providers: Promise<Providers> | undefined;
  let pipeline: Promise<VoicePipeline> | undefined;
  return {
    get() {
      pipeline ??= (async () => {
        providers = createProviders(config, { logger });
        const p = new VoicePipeline({ ...(await providers), config, logger });
        await p.warmUp();
        return p;
      })();
      // a failed start (model download offline, server down) is retried by the next task
      pipeline.catch(() => {
        pipeline = undefined;
      });
      return pipeline;
    },
    async close() {
      await (await providers?.catch(() => undefined))?.close();
    },
  };
}
