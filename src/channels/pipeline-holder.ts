/**
 * One voice pipeline per process, built on first use and shared by every task: models stay loaded
 * between requests.
 *
 * A warm-up that fails (LLM server down, model download offline) closes every provider it created, so
 * a retried warm-up never leaves a speech-recogniser process behind. `state()` reports the last warm-up
 * without starting one: readiness checks read it, only `june start`, workers and tasks call `get()`.
 */
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { VoicePipeline } from '../pipeline/voice-pipeline.js';
import { createProviders, type Providers } from '../providers/factory.js';
import type { LanguageModel } from '../providers/types.js';

export type PipelineState =
  { status: 'idle' } | { status: 'loading' } | { status: 'ready' } | { status: 'failed'; error: unknown };

export interface PipelineHolder {
  get(): Promise<VoicePipeline>;
  /** The last warm-up's outcome; never starts work. */
  state(): PipelineState;
  /** The loaded language model, for small side questions (a chat's title); undefined until warm. */
  languageModel?(): LanguageModel | undefined;
  /**
   * Warms up in the background and, while it fails, tries again with a growing pause (up to a minute),
   * so that readiness recovers when the LLM server comes back even if no task arrives. Stopped by close().
   */
  keepWarm(onFailure?: (err: unknown) => void): void;
  close(): Promise<void>;
}

const RETRY_FIRST_MS = 2_000;
const RETRY_MAX_MS = 60_000;

export function pipelineHolder(config: JuneConfig, logger: Logger): PipelineHolder {
  let ready: Providers | undefined;
  let pipeline: Promise<VoicePipeline> | undefined;
  let state: PipelineState = { status: 'idle' };
  let retry: NodeJS.Timeout | undefined;
  let closed = false;

  const warmUp = async (): Promise<VoicePipeline> => {
    let providers: Providers | undefined;
    try {
      providers = await createProviders(config, { logger });
      const { stt, llm, tts } = providers;
      // every load settles before we judge: closing a provider whose load is still running would let
      // that load start its process after the close
      const loads = await Promise.allSettled([stt.load(), llm.load(), tts.load()]);
      const failed = loads.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      const p = new VoicePipeline({ ...providers, config, logger });
      await p.warmUp();
      ready = providers;
      state = { status: 'ready' };
      return p;
    } catch (err) {
      state = { status: 'failed', error: err };
      await providers?.close().catch(() => undefined);
      throw err;
    }
  };

  const holder: PipelineHolder = {
    get() {
      if (!pipeline) {
        state = { status: 'loading' };
        pipeline = warmUp();
        // a failed start is retried by the next task
        pipeline.catch(() => {
          pipeline = undefined;
        });
      }
      return pipeline;
    },
    state: () => state,
    languageModel: () => ready?.llm,
    keepWarm(onFailure) {
      const attempt = (delayMs: number) => {
        if (closed) return;
        holder.get().catch((err: unknown) => {
          onFailure?.(err);
          if (closed) return;
          retry = setTimeout(() => attempt(Math.min(delayMs * 2, RETRY_MAX_MS)), delayMs);
          retry.unref();
        });
      };
      attempt(RETRY_FIRST_MS);
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const loading = pipeline;
      pipeline = undefined;
      await loading?.catch(() => undefined);
      await ready?.close();
      ready = undefined;
    },
  };
  return holder;
}

/** A holder for a pipeline someone else built and closes (tests that share one set of engines). */
export function fixedPipeline(pipeline: VoicePipeline): PipelineHolder {
  return {
    get: async () => pipeline,
    state: () => ({ status: 'ready' }),
    keepWarm: () => undefined,
    close: async () => undefined,
  };
}
