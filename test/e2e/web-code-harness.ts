/**
 * A real June serving coding runs over the web: SQLite queue in a temp dir, the channel runtime, the web
 * server on a free port, and in-process workers that serve `code` with the real coding agent in real
 * bubblewrap, its model being the scripted OpenAI-compatible server (each test queues the model's
 * replies). No speech engines: coding runs are typed.
 */
import { CODE_CAPABILITY, CODE_TASK_KIND, createCodeHandler } from '../../src/agent/code-handler.js';
import { codeReplySender } from '../../src/channels/code-reply.js';
import { startChannelRuntime, type ChannelRuntime } from '../../src/channels/runtime.js';
import { loadConfig } from '../../src/config/load.js';
import type { JuneConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { HandlerRegistry } from '../../src/tasks/handlers.js';
import { openTaskQueue } from '../../src/tasks/open-queue.js';
import { startWorkers, type WorkerPool } from '../../src/tasks/runtime.js';
import type { TaskQueue } from '../../src/tasks/types.js';
import { startWebServer, type WebServer } from '../../src/web/server.js';
import type { ScriptedResponse } from '../helpers/fake-openai-server.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/speech-fixtures.js';

export interface CodingJune {
  dir: string;
  config: JuneConfig;
  queue: TaskQueue;
  runtime: ChannelRuntime;
  web: WebServer;
  /** http://127.0.0.1:PORT */
  base: string;
  pool: WorkerPool;
  llm: FakeOpenAiServer;
  stop(): Promise<void>;
}

export async function startCodingJune(overrides: Record<string, unknown> = {}): Promise<CodingJune> {
  const dir = await makeTempDir('june-web-code-');
  const llm = await startFakeOpenAiServer();
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: dir,
      llm: 'openai',
      llmBaseUrl: llm.url,
      llmModel: 'june-test-model',
      httpHost: '127.0.0.1',
      httpPort: 0,
      sandbox: 'bubblewrap',
      // heartbeats every 2 s, so a cancelled run stops within seconds (and a loaded machine keeps its lease)
      taskLeaseMs: 6000,
      taskMaxAttempts: 1,
      rateLimitPerMinute: 1000,
      rateLimitBurst: 1000,
      ...overrides,
    },
  });
  const logger = createLogger('silent');
  const queue = await openTaskQueue(config, { logger, retryBaseMs: 50, retryMaxMs: 200 });
  const registry = new HandlerRegistry();
  const runtime = await startChannelRuntime({ config, queue, logger, registry, adapters: [] });
  const web = await startWebServer({ config, queue, runtime, logger, heartbeatMs: 250 });
  const handler = await createCodeHandler({
    config,
    logger,
    reply: codeReplySender((n) => runtime.adapters.get(n), logger),
    record: runtime.codeHooks.record,
  });
  if (!handler) throw new Error('no working sandbox here: cannot serve the code capability');
  registry.register(CODE_TASK_KIND, CODE_CAPABILITY, handler);
  const pool = await startWorkers({
    queue,
    config,
    registry,
    logger,
    metrics: false,
    capabilities: ['chat', CODE_CAPABILITY],
    idlePollMs: 200,
    drainTimeoutMs: 5000,
  });
  return {
    dir,
    config,
    queue,
    runtime,
    web,
    base: web.url.replace(/\/$/, ''),
    pool,
    llm,
    async stop() {
      await web.close();
      await pool.stop();
      await runtime.stop();
      await queue.close();
      await llm.close();
    },
  };
}

/** A gate a scripted model reply waits on until the test opens it (so a test sees a run mid-way). */
export function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** The reply, sent only once `until` settles. */
export function heldUntil(reply: ScriptedResponse, until: Promise<unknown>): ScriptedResponse {
  return { ...reply, stream: [{ hold: until }, ...(reply.stream ?? [])] };
}

/** Polls `probe` until it returns something other than undefined. */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
