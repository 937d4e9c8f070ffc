/**
 * A real June for the web tests: SQLite queue in a temp dir, the channel runtime, the web server on a free
 * port and in-process workers, with pocketsphinx and espeak-ng as engines and the fake OpenAI-compatible
 * server (echo mode) as the LLM. Plus a small Server-Sent Events reader.
 */
import { startChannelRuntime, type ChannelRuntime } from '../../src/channels/runtime.js';
import { loadConfig } from '../../src/config/load.js';
import type { JuneConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { HandlerRegistry } from '../../src/tasks/handlers.js';
import { openTaskQueue } from '../../src/tasks/open-queue.js';
import { startWorkers, type WorkerPool } from '../../src/tasks/runtime.js';
import type { TaskQueue } from '../../src/tasks/types.js';
import { startWebServer, type WebServer } from '../../src/web/server.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/speech-fixtures.js';

export interface RunningJune {
  dir: string;
  config: JuneConfig;
  queue: TaskQueue;
  runtime: ChannelRuntime;
  web: WebServer;
  /** The server's origin without the trailing slash: http://127.0.0.1:PORT */
  base: string;
  pool: WorkerPool;
  llm: FakeOpenAiServer;
  stop(): Promise<void>;
}

export async function startJune(
  overrides: Record<string, unknown> = {},
  options: { logFile?: string } = {},
): Promise<RunningJune> {
  const dir = await makeTempDir('june-web-');
  const llm = await startFakeOpenAiServer({ echo: { tokenDelayMs: 5 } });
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: dir,
      stt: 'pocketsphinx',
      llm: 'openai',
      llmBaseUrl: llm.url,
      llmModel: 'june-test-model',
      tts: 'espeak-ng',
      httpHost: '127.0.0.1',
      httpPort: 0,
      taskMaxAttempts: 2,
      rateLimitPerMinute: 1000,
      rateLimitBurst: 1000,
      ...overrides,
    },
  });
  const logger = options.logFile ? createLogger('debug', options.logFile) : createLogger('silent');
  const queue = await openTaskQueue(config, { logger, retryBaseMs: 50, retryMaxMs: 200 });
  const registry = new HandlerRegistry();
  const runtime = await startChannelRuntime({ config, queue, logger, registry, adapters: [] });
  const web = await startWebServer({ config, queue, runtime, logger, heartbeatMs: 250 });
  const pool = await startWorkers({ queue, config, registry, logger, capabilities: ['voice', 'chat'] });
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

export interface SseEvent {
  event: string;
  data: unknown;
}

export interface SseRead {
  events: SseEvent[];
  /** Heartbeat comments seen. */
  comments: number;
  /** The server ended the stream (rather than `until` being met). */
  ended: boolean;
}

/** Reads an event stream until the server ends it, `until` is met, or `timeoutMs` passes (which fails). */
export async function readSse(
  url: string,
  headers: Record<string, string> = {},
  options: { until?: (events: SseEvent[], read: SseRead) => boolean; timeoutMs?: number } = {},
): Promise<SseRead> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 30_000);
  const out: SseRead = { events: [], comments: 0, ended: false };
  try {
    const res = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: controller.signal,
    });
    if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
    if (!res.headers.get('content-type')?.startsWith('text/event-stream'))
      throw new Error(`${url}: not an event stream (${res.headers.get('content-type')})`);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) out.comments++;
          else if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length) out.events.push({ event, data: JSON.parse(data.join('\n')) as unknown });
      }
      if (options.until?.(out.events, out)) {
        controller.abort();
        return out;
      }
    }
    out.ended = true;
    return out;
  } catch (err) {
    if (controller.signal.aborted && options.until?.(out.events, out)) return out;
    throw new Error(`${url}: ${String(err)}; events so far: ${out.events.map((e) => e.event).join(', ')}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Polls GET /v1/tasks/:id until the task reaches a final state. */
export async function waitForTask(
  base: string,
  id: string,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${base}/v1/tasks/${id}`, { headers });
    const body = (await res.json()) as Record<string, unknown>;
    if (['completed', 'dead', 'cancelled'].includes(String(body.state))) return body;
    if (Date.now() > until) throw new Error(`task ${id} still ${String(body.state)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
