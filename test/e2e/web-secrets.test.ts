/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked field by field */
/**
 * An LLM server that echoes the Authorization header in its error bodies (some proxies and servers do):
 * the API key must reach none of the places an error goes: tasks.db, the log, the user's and the admin's
 * task views, the SSE streams, the dead-letter list and /ready. Real June, real SQLite, real log file.
 */
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAT_PATH } from '../helpers/fake-openai-server.js';
import { apiClient, bearer } from './web-client.js';
import { readSse, startJune, waitForTask, type RunningJune } from './web-harness.js';

const KEY = 'sk-june-e2e-Zq8vW3nR5tY7uI9oP1aS';
const USER = 'user-token-kkkkkkkkkkkkkkkk';
const ADMIN = 'admin-token-llllllllllllllll';

let june: RunningJune;
let logFile: string;
let modelsEcho = true;
const { send, getJson } = apiClient(() => june.base);

/** An error body quoting the request's headers, as a misconfigured proxy would. */
function echoError(res: ServerResponse, status: number, authorization: string | undefined): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      error: { message: `request rejected; headers were {"authorization": "${authorization ?? ''}"}` },
    }),
  );
}

beforeAll(async () => {
  logFile = path.join(fs.mkdtempSync('/tmp/june-secrets-log-'), 'june.log');
  june = await startJune(
    { apiTokens: [USER, `admin:${ADMIN}`], llmApiKey: KEY, llmRetries: 0, taskMaxAttempts: 2 },
    { logFile },
  );
  june.llm.route('/v1/models', (req, res) => {
    if (modelsEcho) return echoError(res, 401, req.headers.authorization);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data: [{ id: 'june-test-model', object: 'model' }] }));
  });
  june.llm.route(CHAT_PATH, (req, res) => echoError(res, 400, req.headers.authorization));
});

afterAll(async () => {
  await june?.stop();
});

const expectNoKey = (what: string, text: string) => {
  expect(text, what).not.toContain(KEY);
  expect(text, what).not.toContain(KEY.slice(8));
};

describe('an LLM server that echoes the API key in its errors', () => {
  it('keeps the key out of /ready, for admins too', async () => {
    june.runtime.pipeline.keepWarm();
    await expect.poll(() => june.runtime.pipeline.state().status, { timeout: 30_000 }).toBe('failed');
    // the server really did echo the key: the failure holds it before scrubbing
    expect(String((june.runtime.pipeline.state() as { error: Error }).error.message)).toContain(KEY);
    const anonymous = await getJson('/ready');
    expect(anonymous).toEqual({ status: 503, body: { ready: false } });
    const admin = await getJson('/ready', ADMIN);
    expect(admin.body.checks.models).toMatch(/^failed: .*HTTP 401/);
    expect(admin.body.checks.models).toContain('[redacted]');
    expectNoKey('/ready (admin)', JSON.stringify(admin.body));
  });

  it('keeps the key out of the task record, the views, the streams and the log', async () => {
    modelsEcho = false;
    // June is ready again once a warm-up has seen the server accept the key
    await expect
      .poll(
        () =>
          june.runtime.pipeline.get().then(
            () => true,
            () => false,
          ),
        { timeout: 30_000 },
      )
      .toBe(true);
    const accepted = await send(USER, { text: 'hello there' });
    expect(accepted.status).toBe(202);
    const id: string = accepted.body.taskId;
    const [userStream, adminStream] = await Promise.all([
      readSse(`${june.base}/v1/tasks/${id}/events`, bearer(USER)),
      readSse(`${june.base}/v1/tasks/${id}/events`, bearer(ADMIN)),
    ]);
    const done = await waitForTask(june.base, id, bearer(USER));
    expect(done.state).toBe('dead');
    // the chat request carried the key, and the server answered with it
    expect(june.llm.chatRequests().map((r) => r.headers.authorization)).toContain(`Bearer ${KEY}`);

    // the user sees the sentence written for users, nothing internal
    const userView = await getJson(`/v1/tasks/${id}`, USER);
    expect(userView.body.error.code).toBe('llm_bad_request');
    expect(userView.body.error.message).toBe(userView.body.error.userMessage);
    expect(userView.body.error.message).not.toMatch(/HTTP 400|127\.0\.0\.1/);
    expectNoKey('user task view', JSON.stringify(userView.body));
    expectNoKey('user task list', JSON.stringify((await getJson('/v1/tasks', USER)).body));

    // the admin sees what happened, with the key scrubbed
    const adminView = await getJson(`/v1/tasks/${id}`, ADMIN);
    expect(adminView.body.error.message).toMatch(/HTTP 400 from http:\/\/127\.0\.0\.1:\d+\/v1\/chat/);
    expect(adminView.body.error.message).toContain('Bearer [redacted]');
    expectNoKey('admin task view', JSON.stringify(adminView.body));
    expectNoKey('dead letters', JSON.stringify((await getJson('/v1/admin/dead-letters', ADMIN)).body));

    const dead = userStream.events.find((e) => e.event === 'dead');
    expect((dead?.data as any)?.error?.code).toBe('llm_bad_request');
    expectNoKey('user SSE', JSON.stringify(userStream.events));
    expect(JSON.stringify(adminStream.events)).toContain('[redacted]');
    expectNoKey('admin SSE', JSON.stringify(adminStream.events));

    // what is on disk: the database and its write-ahead log, and the log file
    for (const f of ['tasks.db', 'tasks.db-wal']) {
      const file = path.join(june.dir, f);
      if (!fs.existsSync(file)) continue;
      const bytes = fs.readFileSync(file);
      expect(bytes.includes(Buffer.from(KEY)), f).toBe(false);
    }
    const log = fs.readFileSync(logFile, 'utf8');
    expect(log).toMatch(/HTTP 40[01]/);
    expectNoKey('log', log);
  });
});
