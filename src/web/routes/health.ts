/**
 * GET /health (the process answers), GET /ready (the queue answers and the models are loaded: only
 * yes or no for anonymous callers, the reasons for admins), GET /v1/status (for signed-in users: ready,
 * and the models and voice in use, as the page's welcome shows them) and GET /metrics (Prometheus: the
 * voice pipeline's and the task queue's metrics on the default registry).
 */
import path from 'node:path';
import { register as defaultRegistry } from 'prom-client';
import type { PipelineState } from '../../channels/pipeline-holder.js';
import { redactedMessage } from '../../util/redact.js';
import { defineRoute, type AnyRoute } from '../api-route.js';
import type { WebDeps } from '../deps.js';
import type { JuneConfig } from '../../config/schema.js';
import { Health, Ready, Status } from '../schemas.js';

/** The models check as /ready shows it to an admin. */
function modelsCheck(state: PipelineState): string {
  switch (state.status) {
    case 'ready':
      return 'ok';
    case 'failed':
      return `failed: ${redactedMessage(state.error)}`;
    case 'loading':
      return 'loading';
    case 'idle':
      return 'not started';
  }
}

/** The engines in use, named as a person reads them (no URLs, no keys). */
function engines(c: JuneConfig): { llm: string; stt: string; tts: string } {
  const embedded = c.llm === 'llama' || (c.llm === 'auto' && !c.llmBaseUrl);
  const llm = embedded
    ? c.llmModelPath
      ? path.basename(c.llmModelPath)
      : 'the default local model'
    : c.llmModel;
  const stt =
    c.stt === 'pocketsphinx' ? 'pocketsphinx' : `${c.stt === 'auto' ? 'whisper' : c.stt} ${c.sttModel}`;
  const voice = c.ttsVoice ? ` (${c.ttsVoice})` : '';
  const tts =
    c.tts === 'openai'
      ? `${c.ttsModel}${voice}`
      : c.tts === 'auto'
        ? `neural voice${voice}`
        : `${c.tts}${voice}`;
  return { llm, stt, tts };
}

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
      description:
        'Reports the state of the warm-up that `june start` runs (and retries) in the background; asking ' +
        'never starts work. Without a token the answer is only `ready`; an admin token also gets `checks`.',
      responses: {
        200: { description: 'Ready', schema: Ready },
        503: { description: 'Not ready (with an admin token, checks say why)', schema: Ready },
      },
      async handler({ caller, reply }) {
        const queue = await deps.queue.stats().then(
          () => 'ok',
          (err: unknown) => `unreachable: ${redactedMessage(err)}`,
        );
        const models = modelsCheck(deps.runtime.pipeline.state());
        const ready = queue === 'ok' && models === 'ok';
        const body = caller.scope === 'admin' ? { ready, checks: { queue, models } } : { ready };
        return reply.status(ready ? 200 : 503).send(body);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/status',
      tag: 'health',
      auth: 'user',
      summary: 'Whether June can answer now, and the models and voice it answers with',
      responses: { 200: { description: 'The status', schema: Status } },
      async handler() {
        const queue = await deps.queue.stats().then(
          () => true,
          () => false,
        );
        const ready = queue && deps.runtime.pipeline.state().status === 'ready';
        return { ready, ...engines(deps.config) };
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
