/**
 * GET /ready against a real June whose LLM server cannot be reached: asking never starts a warm-up (so it
 * cannot pile up speech-recogniser processes), anonymous callers learn only yes or no, admins learn why.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChildren } from '../helpers/child-processes.js';
import { apiClient } from './web-client.js';
import { startJune, type RunningJune } from './web-harness.js';

const USER = 'user-token-rrrrrrrrrrrrrrrr';
const ADMIN = 'admin-token-ssssssssssssssss';
const HELPER = 'pocketsphinx-server';

let june: RunningJune;
let deadUrl: string;
const { getJson } = apiClient(() => june.base);

beforeAll(async () => {
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/v1`;
  await new Promise<void>((r) => probe.close(() => r()));
  june = await startJune({ apiTokens: [USER, `admin:${ADMIN}`], llmBaseUrl: deadUrl, llmRetries: 0 });
});

afterAll(async () => {
  await june?.stop();
});

describe('GET /ready with the LLM server down', () => {
  it('never starts a warm-up, however often it is asked', async () => {
    const before = countChildren(HELPER);
    for (let i = 0; i < 15; i++) {
      const res = await getJson('/ready');
      expect(res).toEqual({ status: 503, body: { ready: false } });
    }
    expect(june.runtime.pipeline.state()).toEqual({ status: 'idle' });
    expect(countChildren(HELPER)).toBe(before);
    expect((await getJson('/ready', ADMIN)).body).toEqual({
      ready: false,
      checks: { queue: 'ok', models: 'not started' },
    });
  });

  it('reports the background warm-up, and what failed only to an admin', async () => {
    const before = countChildren(HELPER);
    june.runtime.pipeline.keepWarm();
    await expect.poll(() => june.runtime.pipeline.state().status, { timeout: 30_000 }).toBe('failed');
    // the failed warm-up closed its speech recogniser
    await expect.poll(() => countChildren(HELPER)).toBe(before);

    for (const token of [undefined, USER, 'not-a-token']) {
      const res = await getJson('/ready', token);
      expect(res, String(token)).toEqual({ status: 503, body: { ready: false } });
      expect(JSON.stringify(res.body)).not.toContain('127.0.0.1');
    }
    const admin = await getJson('/ready', ADMIN);
    expect(admin.status).toBe(503);
    expect(admin.body.checks.queue).toBe('ok');
    expect(admin.body.checks.models).toMatch(/^failed: .*cannot reach/);
    expect(admin.body.checks.models).toContain(deadUrl);
  });
});
