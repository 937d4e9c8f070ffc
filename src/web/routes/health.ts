/**
 * GET /health (the process answers), GET /ready (the queue answers and the models are loaded) and
 * GET /metrics (Prometheus: the voice pipeline's and the task queue's metrics on the default registry).
 */
import { register as defaultRegistry } from 'prom-client';
import { defineRoute, type AnyRoute } from '../api-route.js';
import type { WebDeps } from '../deps.js';
import { Health, Ready } from '../schemas.js';

/** How long /ready waits for the models before answering "loading". */
const READY_WAIT_MS = 200;

export function healthRoutes(deps: WebDeps): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/health',
      tag: 'health',
      auth: 'none',
      summary: 'Liveness',
      responses: { 200: { description: 'The server is up', schema: Health } },
      async handler() {
        return { status: 'ok' as const };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/ready',
      tag: 'health',
      auth: 'none',
      summary: 'Readiness: the task queue answers and the models are loaded',
      description: 'Asking also starts loading the models when nothing has yet.',
      responses: {
        200: { description: 'Ready', schema: Ready },
        503: { description: 'Not ready; checks say why', schema: Ready },
      },
      async handler({ reply }) {
        const queue = await deps.queue.stats().then(
          () => 'ok',
          (err: unknown) => `unreachable: ${err instanceof Error ? err.message : String(err)}`,
        );
        const timeout = new Promise<string>((r) => setTimeout(() => r('loading'), READY_WAIT_MS).unref());
        const loaded = deps.runtime.pipeline.get().then(
          () => 'ok',
          (err: unknown) => `failed: ${err instanceof Error ? err.message : String(err)}`,
        );
        const models = await Promise.race([loaded, timeout]);
        const ready = queue === 'ok' && models === 'ok';
        return reply.status(ready ? 200 : 503).send({ ready, checks: { queue, models } });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/metrics',
      tag: 'health',
      auth: 'none',
      summary: 'Prometheus metrics',
      responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain' } },
      async handler({ reply }) {
        const text = await defaultRegistry.metrics();
        return reply.header('content-type', defaultRegistry.contentType).send(text);
      },
    }),
  ];
}
