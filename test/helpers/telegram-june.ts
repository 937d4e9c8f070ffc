/**
 * June's real pieces, in-process, wired to a fake Telegram Bot API server and a local OpenAI-compatible
 * LLM server: the SQLite task queue in a temp dir, the channel runtime (gateway, stores, the Telegram
 * adapter from the config) and workers, sharing one fresh HandlerRegistry and a pipeline built from real
 * engines (pocketsphinx, espeak-ng). Used by the Telegram end-to-end tests and the channels benchmark.
 */
import path from 'node:path';
import { Registry } from 'prom-client';
import { CODE_CAPABILITY, CODE_TASK_KIND, createCodeHandler } from '../../src/agent/code-handler.js';
import { startChannelRuntime, type ChannelRuntime } from '../../src/channels/runtime.js';
import { loadConfig } from '../../src/config/load.js';
import type { JuneConfig } from '../../src/config/schema.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { voiceMetrics } from '../../src/observability/metrics.js';
import { fixedPipeline } from '../../src/channels/pipeline-holder.js';
import { VoicePipeline } from '../../src/pipeline/voice-pipeline.js';
import { OpenAiLanguageModel } from '../../src/providers/llm/openai.js';
import { THINKING_MEMORY_FILE, ThinkingMemory } from '../../src/providers/llm/openai-thinking-memory.js';
import type { PcmAudio, SpeechToText, TextToSpeech } from '../../src/providers/types.js';
import {
  cancelTree,
  createPlanRunHandler,
  PLAN_RUN_CAPABILITY,
  PLAN_RUN_KIND,
  registerPlanSubtaskHandlers,
} from '../../src/planner/index.js';
import { HandlerRegistry } from '../../src/tasks/handlers.js';
import { openTaskQueue } from '../../src/tasks/open-queue.js';
import { startWorkers, type WorkerPool } from '../../src/tasks/runtime.js';
import type { Task, TaskQueue } from '../../src/tasks/types.js';
import type { FakeOpenAiServer } from './fake-openai-server.js';
import type { FakeTelegramServer } from './fake-telegram-server.js';
import { makeTempDir } from './speech-fixtures.js';

export interface Engines {
  stt: SpeechToText;
  tts: TextToSpeech;
}

export interface JuneUnderTest {
  dir: string;
  config: JuneConfig;
  queue: TaskQueue;
  runtime: ChannelRuntime;
  workers: WorkerPool;
  /** Every task of the queue (newest first), all states. */
  tasks(): Promise<Task[]>;
  stop(): Promise<void>;
}

export interface StartJuneOptions {
  telegram: FakeTelegramServer;
  llm: FakeOpenAiServer;
  engines: Engines;
  /** More JUNE_* variables (allow lists, rate limits, voice replies…). */
  env?: Record<string, string>;
  concurrency?: number;
  logger?: Logger;
  /** Also serve the `code` capability (the coding agent in the configured sandbox, replying to chats). */
  code?: boolean;
  /** Also serve `plan` (tree roots, delivering to chats) and run the plan's chat subtasks. */
  plan?: boolean;
}

export async function startJune(options: StartJuneOptions): Promise<JuneUnderTest> {
  const dir = await makeTempDir('june-telegram-');
  const logger = options.logger ?? createLogger(process.env.JUNE_TEST_LOG_LEVEL ?? 'silent');
  const config = loadConfig({
    env: {
      JUNE_DATA_DIR: path.join(dir, 'data'),
      JUNE_MODELS_DIR: path.join(dir, 'models'),
      JUNE_TELEGRAM_TOKEN: options.telegram.token,
      JUNE_TELEGRAM_API_ROOT: options.telegram.url,
      JUNE_LLM_BASE_URL: options.llm.url,
      JUNE_LLM_MODEL: 'june-test-model',
      JUNE_TASK_LEASE_MS: '5000',
      ...options.env,
    },
  });
  const queue = await openTaskQueue(config, { logger, retryBaseMs: 200 });
  const registry = new HandlerRegistry();
  const pipeline = new VoicePipeline({
    stt: options.engines.stt,
    llm: new OpenAiLanguageModel({
      baseUrl: options.llm.url,
      model: config.llmModel,
      logger,
      retries: 1,
      thinkingMemory: new ThinkingMemory(path.join(config.dataDir, THINKING_MEMORY_FILE), logger),
    }),
    tts: options.engines.tts,
    config,
    logger,
    metrics: voiceMetrics(new Registry()),
  });
  const runtime = await startChannelRuntime({
    config,
    queue,
    logger,
    registry,
    // the engines belong to the test file, which closes them once at the end
    pipeline: fixedPipeline(pipeline),
    cancelPlanTree: cancelTree,
  });
  if (options.plan) {
    const deps = { queue, config, logger, metrics: false as const, pollMs: 200 };
    registry.register(PLAN_RUN_KIND, PLAN_RUN_CAPABILITY, runtime.wrapPlanRun(createPlanRunHandler(deps)), {
      waitsForTasks: true,
    });
    await registerPlanSubtaskHandlers(registry, deps);
  }
  if (options.code) {
    const handler = await createCodeHandler({ config, logger, ...runtime.codeHooks });
    if (!handler) throw new Error('no working sandbox here: cannot serve the code capability');
    registry.register(CODE_TASK_KIND, CODE_CAPABILITY, handler);
  }
  const workers = await startWorkers({
    queue,
    config,
    registry,
    logger,
    metrics: false,
    capabilities: [
      'voice',
      'chat',
      ...(options.code ? [CODE_CAPABILITY] : []),
      ...(options.plan ? [PLAN_RUN_CAPABILITY] : []),
    ],
    concurrency: options.concurrency ?? 2,
    idlePollMs: 200,
    drainTimeoutMs: 5000,
  });
  return {
    dir,
    config,
    queue,
    runtime,
    workers,
    tasks: () => queue.list({ limit: 1000 }),
    async stop() {
      await workers.stop();
      await runtime.stop();
      await queue.close();
    },
  };
}

/** Decodes audio with the ffmpeg binary itself (not June's decoder) to 16 kHz mono float PCM. */
export async function decodeWithFfmpeg(data: Buffer): Promise<PcmAudio> {
  const { spawn } = await import('node:child_process');
  const ff = spawn('ffmpeg', [
    '-loglevel',
    'error',
    '-i',
    'pipe:0',
    '-f',
    'f32le',
    '-ac',
    '1',
    '-ar',
    '16000',
    'pipe:1',
  ]);
  const out: Buffer[] = [];
  let err = '';
  ff.stdout.on('data', (c: Buffer) => out.push(c));
  ff.stderr.on('data', (c: Buffer) => (err += c.toString()));
  ff.stdin.end(data);
  const code = await new Promise<number | null>((resolve) => ff.once('close', resolve));
  if (code !== 0) throw new Error(`ffmpeg could not decode the audio: ${err}`);
  const pcm = Buffer.concat(out);
  // a fresh, aligned copy: Buffer.concat may hand out a slice of a shared pool at any offset
  const bytes = new Uint8Array(pcm);
  const samples = new Float32Array(bytes.buffer, 0, Math.floor(bytes.length / 4));
  return { sampleRate: 16_000, samples };
}
