/**
 * /openapi.json against the running server: every route is documented, and what each route really answers
 * (status and JSON body) matches the document's schemas. The schemas are read back with z.fromJSONSchema,
 * so the check goes through the published JSON Schema, not through the zod objects that produced it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { spokenVoiceNote } from '../helpers/speech-fixtures.js';
import { startJune, waitForTask, type RunningJune } from './web-harness.js';

const ADMIN = 'admin-token-for-openapi-checks';
const auth = { authorization: `Bearer ${ADMIN}` };

interface Operation {
  parameters: Array<{ name: string; in: string; required: boolean }>;
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
  security?: unknown[];
}
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>> };

let june: RunningJune;
let doc: Doc;
let voiceTaskId: string;

beforeAll(async () => {
  june = await startJune({ apiTokens: [`admin:${ADMIN}`] });
  const form = new FormData();
  form.set('audio', new Blob([new Uint8Array(await spokenVoiceNote(june.dir, 'hello june'))]), 'a.ogg');
  const res = await fetch(`${june.base}/v1/messages`, { method: 'POST', headers: auth, body: form });
  voiceTaskId = ((await res.json()) as { taskId: string }).taskId;
  await waitForTask(june.base, voiceTaskId, auth);
  doc = (await (await fetch(`${june.base}/openapi.json`)).json()) as Doc;
});

afterAll(async () => {
  await june?.stop();
});

function operation(method: string, path: string): Operation {
  const op = doc.paths[path]?.[method];
  if (!op) throw new Error(`${method.toUpperCase()} ${path} is not documented`);
  return op;
}

/** Calls a documented route and checks the answer against the document. */
async function check(
  method: 'get' | 'post',
  path: string,
  init: { url?: string; body?: unknown } = {},
): Promise<{ status: number; body: unknown }> {
  const op = operation(method, path);
  const res = await fetch(`${june.base}${init.url ?? path}`, {
    method: method.toUpperCase(),
    headers: { ...auth, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const documented = op.responses[String(res.status)];
  expect(documented, `${method} ${path} answered ${res.status}, which is not documented`).toBeDefined();
  const type = res.headers.get('content-type') ?? '';
  const content = documented!.content ?? {};
  if (type.startsWith('application/json')) {
    const body = (await res.json()) as unknown;
    const schema = content['application/json']?.schema;
    expect(schema, `${method} ${path} ${res.status} has no JSON schema`).toBeDefined();
    const parsed = z.fromJSONSchema(schema as never).safeParse(body);
    expect(parsed.success, `${method} ${path}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
    return { status: res.status, body };
  }
  expect(Object.keys(content).some((t) => type.startsWith(t.split(';')[0]!))).toBe(true);
  await res.body?.cancel();
  return { status: res.status, body: undefined };
}

describe('/openapi.json', () => {
  it('documents every route with its auth', () => {
    expect(doc.openapi).toBe('3.1.0');
    const routes = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(routes.sort()).toEqual(
      [
        'GET /health',
        'GET /ready',
        'GET /metrics',
        'GET /openapi.json',
        'POST /v1/messages',
        'GET /v1/tasks',
        'GET /v1/tasks/{id}',
        'GET /v1/tasks/{id}/events',
        'GET /v1/tasks/{id}/tree',
        'GET /v1/tasks/events',
        'GET /v1/audio/{id}',
        'GET /v1/audio/{id}/sentences/{index}',
        'POST /v1/speech',
        'GET /v1/status',
        'POST /v1/conversations/{id}/title',
        'GET /v1/conversations',
        'POST /v1/conversations',
        'GET /v1/conversations/{id}/messages',
        'POST /v1/conversations/{id}/rename',
        'POST /v1/conversations/{id}/reset',
        'POST /v1/conversations/{id}/delete',
        'GET /v1/admin/workers',
        'GET /v1/admin/queue',
        'GET /v1/admin/dead-letters',
        'POST /v1/admin/dead-letters/redrive',
        'POST /v1/code',
        'GET /v1/code/{id}',
        'GET /v1/code/{id}/steps',
        'GET /v1/code/{id}/diff',
        'POST /v1/code/{id}/cancel',
        'GET /v1/plans',
        'GET /v1/plans/{id}',
        'POST /v1/plans/{id}/approve',
        'POST /v1/plans/{id}/cancel',
        'GET /v1/plans/{id}/files/{index}',
        'POST /v1/evals',
        'GET /v1/evals',
        'GET /v1/evals/{id}',
        'GET /v1/evals/{id}/samples',
        'GET /v1/evals/{id}/samples/{index}',
        'POST /v1/evals/{id}/cancel',
        'GET /v1/evals/{id}/report',
        'GET /v1/evals/{id}/logs',
      ].sort(),
    );
    expect(operation('get', '/health').security).toEqual([]);
    expect(operation('get', '/v1/admin/queue').responses['403']).toBeDefined();
    expect(operation('get', '/v1/tasks').parameters.map((p) => p.name)).toEqual([
      'state',
      'capability',
      'limit',
    ]);
    expect(operation('get', '/v1/tasks/{id}').parameters[0]).toMatchObject({
      name: 'id',
      in: 'path',
      required: true,
    });
  });

  it('describes both ways of sending a message, with the schema the server validates', async () => {
    const content = operation('post', '/v1/messages').requestBody!.content;
    expect(Object.keys(content).sort()).toEqual(['application/json', 'multipart/form-data']);
    expect(content['multipart/form-data']!.schema).toMatchObject({
      properties: { audio: { type: 'string', format: 'binary' } },
      required: ['audio'],
    });
    const jsonBody = z.fromJSONSchema(content['application/json']!.schema as never);
    expect(jsonBody.safeParse({ text: 'hello', conversation: 'x-1' }).success).toBe(true);
    // what the document rejects, the server rejects too
    for (const bad of [
      { text: 5 },
      { conversation: 'x' },
      { text: 'hi', conversation: 'a b' },
      { text: 'hi', speak: 'yes' },
    ]) {
      expect(jsonBody.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
      expect((await check('post', '/v1/messages', { body: bad })).status).toBe(400);
    }
    const ok = await check('post', '/v1/messages', { body: { text: 'hello', conversation: 'x-1' } });
    expect(ok.status).toBe(202);
  });

  it('matches what every route answers', async () => {
    await check('get', '/health');
    await check('get', '/ready');
    await check('get', '/metrics');
    await check('get', '/openapi.json');
    expect((await check('get', '/v1/tasks', { url: '/v1/tasks?limit=5' })).status).toBe(200);
    const detail = await check('get', '/v1/tasks/{id}', { url: `/v1/tasks/${voiceTaskId}` });
    expect(detail.status).toBe(200);
    expect((await check('get', '/v1/tasks/{id}', { url: '/v1/tasks/chat-missing' })).status).toBe(404);
    await check('get', '/v1/tasks/{id}/events', { url: `/v1/tasks/${voiceTaskId}/events` });
    // a voice turn is no plan: its tree is not found (plans' trees: web-plan.test.ts)
    const tree = await check('get', '/v1/tasks/{id}/tree', { url: `/v1/tasks/${voiceTaskId}/tree` });
    expect(tree.status).toBe(404);
    // nor a plan of the chat (plans in the chat: web-plan-chat.test.ts)
    const plans = await check('get', '/v1/plans', { url: '/v1/plans?conversation=x-1' });
    expect(plans).toEqual({ status: 200, body: { plans: [] } });
    expect((await check('get', '/v1/plans/{id}', { url: `/v1/plans/${voiceTaskId}` })).status).toBe(404);
    for (const action of ['approve', 'cancel'])
      expect(
        (
          await check('post', `/v1/plans/{id}/${action}`, {
            url: `/v1/plans/${voiceTaskId}/${action}`,
            body: {},
          })
        ).status,
      ).toBe(404);
    const file = await check('get', '/v1/plans/{id}/files/{index}', {
      url: `/v1/plans/${voiceTaskId}/files/0`,
    });
    expect(file.status).toBe(404);
    expect((await check('get', '/v1/audio/{id}', { url: `/v1/audio/${voiceTaskId}` })).status).toBe(200);
    expect((await check('get', '/v1/audio/{id}', { url: '/v1/audio/voice-missing' })).status).toBe(404);
    await check('get', '/v1/conversations');
    const made = await check('post', '/v1/conversations', { body: { title: 'made here' } });
    expect(made.status).toBe(201);
    expect(
      (await check('get', '/v1/conversations/{id}/messages', { url: '/v1/conversations/default/messages' }))
        .status,
    ).toBe(200);
    expect(
      (
        await check('post', '/v1/conversations/{id}/rename', {
          url: '/v1/conversations/default/rename',
          body: { title: 'my work notes!' },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await check('post', '/v1/conversations/{id}/delete', {
          url: `/v1/conversations/${(made.body as { conversation: string }).conversation}/delete`,
        })
      ).status,
    ).toBe(200);
    expect(
      (await check('post', '/v1/conversations/{id}/reset', { url: '/v1/conversations/default/reset' }))
        .status,
    ).toBe(200);
    await check('get', '/v1/admin/workers');
    expect((await check('get', '/v1/evals')).status).toBe(200);
    expect((await check('get', '/v1/evals/{id}', { url: '/v1/evals/eval-missing' })).status).toBe(404);
    expect(
      (await check('post', '/v1/evals', { body: { dataset: 'humaneval', mode: 'agent', samples: '{}' } }))
        .status,
    ).toBe(400);
    await check('get', '/v1/admin/queue');
    await check('get', '/v1/admin/dead-letters');
    expect((await check('post', '/v1/admin/dead-letters/redrive', { body: { all: true } })).status).toBe(200);
    expect(
      (await check('post', '/v1/admin/dead-letters/redrive', { body: { id: 'voice-missing' } })).status,
    ).toBe(404);
  });
});
