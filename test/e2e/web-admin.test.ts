/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked field by field */
/**
 * Auth, admin routes, binding rules, and health/readiness/metrics of the HTTP API, against a real running
 * June (see web-harness.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { startWebServer } from '../../src/web/server.js';
import { apiClient, bearer as as, jsonHeaders as json, notAudio, rawRequest } from './web-client.js';
import { startJune, waitForTask, type RunningJune } from './web-harness.js';

const USER = 'user-token-aaaaaaaaaaaaaaaa';
const ADMIN = 'admin-token-cccccccccccccccc';

let june: RunningJune;
const { send, upload, getJson } = apiClient(() => june.base);

beforeAll(async () => {
  june = await startJune({ apiTokens: [USER, `admin:${ADMIN}`] });
  // one answered message, so the counters and gauges have something to show
  const hello = await send(USER, { text: 'hello' });
  await waitForTask(june.base, hello.body.taskId, as(USER));
});

afterAll(async () => {
  await june?.stop();
});

describe('auth and admin', () => {
  it('refuses missing and bad tokens, and user tokens on admin routes', async () => {
    const none = await getJson('/v1/tasks');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('bad_token');
    expect((await getJson('/v1/tasks', 'not-a-token')).status).toBe(401);
    expect((await getJson('/v1/tasks', `admin:${ADMIN}`)).status).toBe(401);
    for (const url of ['/v1/admin/workers', '/v1/admin/queue', '/v1/admin/dead-letters']) {
      const res = await getJson(url, USER);
      expect(res.status, url).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    const redrive = await fetch(`${june.base}/v1/admin/dead-letters/redrive`, {
      method: 'POST',
      headers: json(USER),
      body: JSON.stringify({ all: true }),
    });
    expect(redrive.status).toBe(403);
    expect((await getJson('/v1/nothing-here', USER)).body.error.code).toBe('not_found');
  });

  it('shows workers, queue counts and dead letters, and redrives them', async () => {
    const workers = await getJson('/v1/admin/workers', ADMIN);
    expect(workers.body.workers.map((w: any) => w.id)).toContain(june.pool.id);
    // a worker on another machine that found the LLM down: its open circuit is shown to admins
    const now = Date.now();
    await june.queue.registerWorker({
      id: 'other-host-worker',
      capabilities: ['chat'],
      concurrency: 1,
      activeTaskIds: [],
      load: 0,
      host: 'gpu-box',
      pid: 4242,
      startedAt: now,
      lastHeartbeatAt: now,
      circuits: [
        {
          provider: 'openai-llm',
          state: 'open',
          since: now,
          openUntil: now + 5000,
          failures: 3,
          capabilities: ['chat'],
        },
      ],
    });
    const withCircuit = await getJson('/v1/admin/workers', ADMIN);
    const other = withCircuit.body.workers.find((w: any) => w.id === 'other-host-worker');
    expect(other.circuits).toEqual([expect.objectContaining({ provider: 'openai-llm', state: 'open' })]);
    await june.queue.unregisterWorker('other-host-worker');
    const queue = await getJson('/v1/admin/queue', ADMIN);
    expect(queue.body.backend).toBe('sqlite');
    const chat = queue.body.capabilities.find((c: any) => c.capability === 'chat');
    expect(chat.completed).toBeGreaterThan(0);

    const accepted = await upload(USER, notAudio(2048, 31));
    await waitForTask(june.base, accepted.body.taskId, as(USER));
    const dead = await getJson('/v1/admin/dead-letters?capability=voice', ADMIN);
    expect(dead.body.tasks.map((t: any) => t.id)).toContain(accepted.body.taskId);

    const post = (body: unknown) =>
      fetch(`${june.base}/v1/admin/dead-letters/redrive`, {
        method: 'POST',
        headers: json(ADMIN),
        body: JSON.stringify(body),
      });
    const one = await post({ id: accepted.body.taskId });
    expect(await one.json()).toEqual({ redriven: 1 });
    // it runs again (the upload is still there) and dies again the same way
    await expect
      .poll(async () => (await getJson(`/v1/tasks/${accepted.body.taskId}`, ADMIN)).body.attemptLog.length, {
        timeout: 15_000,
      })
      .toBe(2);
    const again = await waitForTask(june.base, accepted.body.taskId, as(ADMIN));
    expect(again).toMatchObject({ state: 'dead', error: { code: 'audio_not_audio' } });
    expect((again.timeline as any[]).some((e) => e.type === 'redriven')).toBe(true);

    expect((await post({ id: 'voice-nosuchtask' })).status).toBe(404);
    const bad = await post({ all: 'yes' });
    expect(bad.status).toBe(400);
    const all = await post({ all: true, capability: 'chat' });
    expect(await all.json()).toEqual({ redriven: 0 });
  });

  it('refuses to listen on 0.0.0.0 without a token, and is open on loopback without one', async () => {
    const logger = createLogger('silent');
    const base = { queue: june.queue, runtime: june.runtime, logger };
    await expect(
      startWebServer({ ...base, config: { ...june.config, httpHost: '0.0.0.0', apiTokens: [] } }),
    ).rejects.toThrow(/JUNE_API_TOKENS/);
    await expect(
      startWebServer({ ...base, config: { ...june.config, httpHost: '::', apiTokens: [] } }),
    ).rejects.toThrow(/JUNE_API_TOKENS/);

    const open = await startWebServer({ ...base, config: { ...june.config, apiTokens: [] } });
    try {
      const res = await fetch(`${open.url}v1/admin/queue`);
      expect(res.status).toBe(200);
      // a page elsewhere cannot use the open API: not by DNS rebinding, not by posting across sites
      const rebound = await rawRequest(open.url, 'GET', '/v1/admin/queue', {
        host: `evil.example:${new URL(open.url).port}`,
      });
      expect(rebound.status).toBe(403);
      expect(JSON.parse(rebound.body).error.code).toBe('forbidden');
      const form = new FormData();
      form.set('audio', new Blob([new Uint8Array(notAudio())]), 'q.ogg');
      const crossSite = await fetch(`${open.url}v1/messages`, {
        method: 'POST',
        headers: { origin: 'https://evil.example' },
        body: form,
      });
      expect(crossSite.status).toBe(403);
    } finally {
      await open.close();
    }
    const guarded = await startWebServer({ ...base, config: { ...june.config, httpHost: '0.0.0.0' } });
    try {
      expect(guarded.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect((await fetch(`${guarded.url}v1/tasks`)).status).toBe(401);
    } finally {
      await guarded.close();
    }
  });
});

describe('health, metrics and the API description', () => {
  it('serves /health, /ready and /metrics without a token', async () => {
    expect(await getJson('/health')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await getJson('/ready')).toEqual({ status: 200, body: { ready: true } });
    expect(await getJson('/ready', ADMIN)).toEqual({
      status: 200,
      body: { ready: true, checks: { queue: 'ok', models: 'ok' } },
    });
    const metrics = await (await fetch(`${june.base}/metrics`)).text();
    expect(metrics).toMatch(/voice_messages_processed_total\{platform="web",status="ok"\} \d+/);
    expect(metrics).toMatch(/june_tasks_new\{capability="chat"\} 0/);
    expect(metrics).toMatch(/june_tasks_dead\{capability="voice"\} [1-9]/);
    expect(metrics).toMatch(/june_tasks_completed_total\{capability="chat"\} [1-9]/);
  });
});
