/**
 * The web page and HTTP API (Fastify). The web is one more channel: startWebServer adds the `web` adapter
 * to the channel runtime, and messages posted here go through the same gateway, queue and task handler as
 * Telegram's or Discord's, so each one is a durable task that the API and the page follow live.
 *
 * June refuses to start an API without a token on an address other machines can reach.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import multipart from '@fastify/multipart';
import Fastify from 'fastify';
import type { ChannelTurnPayload } from '../channels/turn-task.js';
import type { ChannelRuntime } from '../channels/runtime.js';
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { voiceMetrics } from '../observability/metrics.js';
import { taskMetrics } from '../tasks/metrics.js';
import type { TaskQueue } from '../tasks/types.js';
import { defineRoute, registerRoutes, type AnyRoute } from './api-route.js';
import { assertSafeBinding, Authenticator, checkBrowserOrigin } from './auth.js';
import type { WebDeps } from './deps.js';
import { clientErrorHandler, limitConnectionsPerClient, timeoutOptions } from './connections.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { buildOpenApi } from './openapi.js';
import { adminRoutes } from './routes/admin.js';
import { audioRoutes } from './routes/audio.js';
import { codeRoutes } from './routes/code.js';
import { conversationRoutes } from './routes/conversations.js';
import { evalRoutes } from './routes/evals.js';
import { healthRoutes } from './routes/health.js';
import { messageRoutes } from './routes/messages.js';
import { taskEventRoutes } from './routes/task-events.js';
import { taskRoutes } from './routes/tasks.js';
import { taskTreeRoutes } from './routes/task-tree.js';
import { planRoutes } from './routes/plans.js';
import { cancelTree, planTree } from '../planner/index.js';
import { OpenApiDocument } from './schemas.js';
import { SseHub } from './sse.js';
import { registerStatic } from './static.js';
import { UploadStore } from './uploads.js';
import { createWebAdapter, WEB_CHANNEL } from './web-adapter.js';

export interface WebServerOptions {
  config: JuneConfig;
  queue: TaskQueue;
  runtime: ChannelRuntime;
  logger: Logger;
  /** Interval of SSE heartbeat comments (default 15 s). */
  heartbeatMs?: number;
}

export interface WebServer {
  /** Where the page is, e.g. http://127.0.0.1:7117/ */
  url: string;
  close(): Promise<void>;
}

/** JSON bodies are short texts; audio comes as multipart, limited by audioMaxBytes. */
const JSON_BODY_LIMIT = 1024 * 1024;
/** Uploads whose task ended long ago (or never began) are removed at start. */
const UPLOAD_RETENTION_MS = 7 * 24 * 3_600_000;

function version(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function displayUrl(address: AddressInfo): string {
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const host = wildcard ? '127.0.0.1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/`;
}

/** Removes a web recording once its task has completed or been cancelled (dead ones stay for redrive). */
async function removeFinishedUploads(queue: TaskQueue, uploads: UploadStore) {
  return queue.subscribe(
    (e) => {
      if (e.type !== 'completed' && e.type !== 'cancelled') return;
      void queue
        .get(e.taskId)
        .then((d) => {
          const p = d?.task.payload as ChannelTurnPayload | undefined;
          if (p?.message?.channel === WEB_CHANNEL && p.attachment) return uploads.remove(p.attachment.fileId);
        })
        .catch(() => undefined);
    },
    { capability: 'voice' },
  );
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const { config, queue, runtime } = options;
  const logger = options.logger.child({ component: 'web' });
  assertSafeBinding(config);
  const auth = new Authenticator(config.apiTokens);
  const uploads = UploadStore.forDataDir(config.dataDir);
  void uploads.sweep(UPLOAD_RETENTION_MS).catch(() => undefined);
  const adapter = createWebAdapter({ uploads, maxDownloadBytes: config.audioMaxBytes });
  await runtime.addAdapter(adapter);
  const sse = new SseHub(options.heartbeatMs ?? 15_000);
  const deps: WebDeps = { config, queue, runtime, logger, adapter, uploads, sse };

  // /metrics shows the voice and queue metrics even when no worker runs in this process
  voiceMetrics();
  const unwatch = taskMetrics().watchQueue(queue);

  const onError = errorHandler({ jsonBytes: JSON_BODY_LIMIT, audioBytes: config.audioMaxBytes }, logger);
  const app = Fastify({
    logger: false,
    bodyLimit: JSON_BODY_LIMIT,
    forceCloseConnections: true,
    ...timeoutOptions(config),
    clientErrorHandler: clientErrorHandler(config, logger),
    // a bad %-encoding or an over-long path segment, found before any route runs
    frameworkErrors: onError,
  });
  limitConnectionsPerClient(app.server, config, logger);
  await app.register(multipart, { limits: { fileSize: config.audioMaxBytes, files: 1 } });
  // bodies are JSON or multipart; anything else (text/plain included) is 415 unsupported_media_type
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(onError);
  app.addHook('onRequest', async (req) => {
    checkBrowserOrigin(auth.open, req.method, { host: req.headers.host, origin: req.headers.origin });
  });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
  });
  app.addHook('onResponse', async (req, reply) => {
    logger.debug(
      {
        method: req.method,
        url: req.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'http request',
    );
  });
  app.addHook('preClose', async () => sse.closeAll());

  const routes: AnyRoute[] = [
    ...healthRoutes(deps),
    ...messageRoutes(deps),
    ...taskRoutes(deps),
    ...taskTreeRoutes(deps, planTree),
    ...taskEventRoutes(deps),
    ...audioRoutes(deps),
    ...conversationRoutes(deps),
    ...codeRoutes(deps),
    ...planRoutes(deps, cancelTree),
    ...adminRoutes(deps),
    ...evalRoutes(deps),
  ];
  let openapi: unknown;
  routes.push(
    defineRoute({
      method: 'GET',
      url: '/openapi.json',
      tag: 'health',
      auth: 'none',
      summary: 'This API description (OpenAPI 3.1)',
      responses: { 200: { description: 'The OpenAPI document', schema: OpenApiDocument } },
      async handler() {
        openapi ??= buildOpenApi(routes, { version: version() });
        return openapi;
      },
    }),
  );
  registerRoutes(app, routes, auth);
  app.setNotFoundHandler(notFoundHandler(routes));
  registerStatic(app);

  const cleanup = await removeFinishedUploads(queue, uploads);
  try {
    await app.listen({ host: config.httpHost, port: config.httpPort });
  } catch (err) {
    await cleanup.close();
    unwatch();
    throw err;
  }
  const url = displayUrl(app.server.address() as AddressInfo);
  logger.info({ url, open: auth.open }, 'web page and HTTP API listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= (async () => {
        await cleanup.close();
        await app.close();
        unwatch();
      })();
      return closing;
    },
  };
}
