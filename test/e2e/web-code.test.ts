/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked field by field */
/**
 * The coding agent over the HTTP API, end to end: June's real web server, SQLite queue and workers, the
 * coding agent driven by the scripted OpenAI-compatible server, commands run in real bubblewrap. A run is
 * started, followed step by step (progress events, the steps read from the run directory mid-run), its
 * result read and its diff downloaded; a running run is cancelled and its sandboxed command is killed; bad
 * requests get clear 4xx answers.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBubblewrap } from '../../src/sandbox/factory.js';
import { nativeCalls } from '../helpers/fake-agent-scripts.js';
import { bearer, jsonHeaders, named } from './web-client.js';
import { eventually, gate, heldUntil, startCodingJune, type CodingJune } from './web-code-harness.js';
import { readSse } from './web-harness.js';

const run = promisify(execFile);
const bwrap = await checkBubblewrap();
const ADMIN = 'code-admin-token';
const ADA = 'code-ada-token';
const BOB = 'code-bob-token';

let june: CodingJune;
let projects: string;

async function post(token: string, body: unknown, url = '/v1/code') {
  const res = await fetch(`${june.base}${url}`, {
    method: 'POST',
    headers: jsonHeaders(token),
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function get(token: string, url: string) {
  const res = await fetch(`${june.base}${url}`, { headers: bearer(token) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** Command lines of every process on the machine. */
async function processLines(): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'args']);
  return stdout.split('\n');
}

beforeAll(async () => {
  if (!bwrap.ok) return;
  projects = await fs.mkdtemp(path.join((await import('node:os')).tmpdir(), 'june-code-projects-'));
  await fs.mkdir(path.join(projects, 'notes'));
  await fs.writeFile(path.join(projects, 'notes', 'todo.txt'), 'buy milk\n');
  june = await startCodingJune({ apiTokens: [`admin:${ADMIN}`, ADA, BOB], agentProjects: [projects] });
});

afterAll(async () => {
  await june?.stop();
  if (projects) await fs.rm(projects, { recursive: true, force: true });
});

describe.skipIf(!bwrap.ok)('POST /v1/code', () => {
  it('runs a coding task: progress per step, the steps with commands, outputs and diffs, the result and the diff download', async () => {
    const second = gate();
    june.llm.enqueue(
      nativeCalls([{ name: 'write_file', args: { path: 'hi.sh', content: 'echo hi from the sandbox\n' } }]),
      heldUntil(nativeCalls([{ name: 'execute_command', args: { command: 'sh hi.sh' } }]), second.wait),
      nativeCalls([{ name: 'finish', args: { summary: 'Wrote hi.sh; it prints hi.' } }]),
    );
    const started = await post(ADA, { task: 'write a script that prints hi', conversation: 'work' });
    expect(started.status).toBe(202);
    const id = started.body.taskId as string;
    expect(started.body.links).toEqual({
      self: `/v1/code/${id}`,
      task: `/v1/tasks/${id}`,
      events: `/v1/tasks/${id}/events`,
      steps: `/v1/code/${id}/steps`,
      diff: `/v1/code/${id}/diff`,
      cancel: `/v1/code/${id}/cancel`,
    });

    // mid-run: step 1 has written the file; step 2's model reply is held back
    const mid = await eventually(async () => {
      const s = await get(ADA, `/v1/code/${id}/steps`);
      return s.body.steps?.some((x: any) => x.step === 1 && x.diff) ? s : undefined;
    }, 'step 1 with its diff');
    expect(mid.body).toMatchObject({ id, state: 'active', local: true });
    const step1 = mid.body.steps.find((x: any) => x.step === 1);
    expect(step1.activity).toBe('editing hi.sh');
    expect(step1.calls[0]).toMatchObject({ tool: 'write_file', path: 'hi.sh', ok: true });
    expect(step1.diff).toContain('+echo hi from the sandbox');
    const running = await get(ADA, `/v1/code/${id}`);
    expect(running.body).toMatchObject({ id, state: 'active', task: 'write a script that prints hi' });
    expect(running.body.runId).toBe(mid.body.runId);
    expect(running.body.result).toBeUndefined();
    // the diff so far, read from the run directory
    const partial = await fetch(`${june.base}/v1/code/${id}/diff`, { headers: bearer(ADA) });
    expect(partial.status).toBe(200);
    expect(await partial.text()).toContain('+echo hi from the sandbox');
    second.open();

    const sse = await readSse(`${june.base}/v1/tasks/${id}/events`, bearer(ADA), { timeoutMs: 60_000 });
    expect(sse.ended).toBe(true);
    const stages = named(sse.events, 'progress').map((p) => p.stage as string);
    expect(stages).toEqual(
      expect.arrayContaining(['step 1: editing hi.sh', 'step 2: running: sh hi.sh', 'step 3: finishing']),
    );
    expect(named(sse.events, 'progress').every((p) => p.data.runId === mid.body.runId)).toBe(true);
    const [completed] = named(sse.events, 'completed');
    expect(completed.result).toMatchObject({ status: 'completed', answer: 'Wrote hi.sh; it prints hi.' });

    const done = await get(ADA, `/v1/code/${id}`);
    expect(done.body.state).toBe('completed');
    expect(done.body.result).toMatchObject({
      runId: mid.body.runId,
      status: 'completed',
      answer: 'Wrote hi.sh; it prints hi.',
      steps: 3,
      toolCalls: 3,
    });
    for (const k of ['tokens', 'diff', 'trajectory', 'timings']) expect(done.body.result).toHaveProperty(k);

    const steps = await get(ADA, `/v1/code/${id}/steps`);
    expect(steps.body).toMatchObject({
      local: true,
      status: 'completed',
      answer: 'Wrote hi.sh; it prints hi.',
    });
    const step2 = steps.body.steps.find((x: any) => x.step === 2);
    expect(step2.calls[0]).toMatchObject({ tool: 'execute_command', command: 'sh hi.sh', exitCode: 0 });
    expect(step2.calls[0].output).toContain('hi from the sandbox');

    const download = await fetch(`${june.base}/v1/code/${id}/diff`, { headers: bearer(ADA) });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toMatch(/^text\/x-diff/);
    expect(download.headers.get('content-disposition')).toBe(
      `attachment; filename="${mid.body.runId as string}.diff"`,
    );
    const diff = await download.text();
    expect(diff).toBe(done.body.result.diff);
    expect(diff).toContain('+++ b/hi.sh');

    // the run is Ada's: Bob does not see it; admin does
    expect((await get(BOB, `/v1/code/${id}`)).status).toBe(404);
    expect((await get(ADMIN, `/v1/code/${id}`)).status).toBe(200);
    expect((await get(ADA, `/v1/tasks/${id}`)).body.kind).toBe('agent.code');
    // a finished run cannot be cancelled
    const late = await post(ADA, {}, `/v1/code/${id}/cancel`);
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('conflict');
  });

  it('cancels a running run: the task ends cancelled and the sandbox kills its command', async () => {
    // a sleep no other process runs, so the test can find it (and see it gone) by its command line
    const marker = `sleep 987.${String(process.pid).padStart(6, '0')}`;
    june.llm.enqueue(
      nativeCalls([{ name: 'execute_command', args: { command: marker, timeout_seconds: 600 } }]),
    );
    const before = june.llm.chatRequests().length;
    const started = await post(ADA, { task: 'wait for a long time' });
    expect(started.status).toBe(202);
    const id = started.body.taskId as string;
    await eventually(
      async () => ((await processLines()).some((l) => l.includes(marker)) ? true : undefined),
      'the sandboxed sleep to run',
    );
    const cancel = await post(ADA, {}, `/v1/code/${id}/cancel`);
    expect(cancel.status).toBe(202);
    expect(cancel.body).toMatchObject({ id, cancelRequested: true });

    const sse = await readSse(`${june.base}/v1/tasks/${id}/events`, bearer(ADA), { timeoutMs: 60_000 });
    expect(sse.events.at(-1)?.event).toBe('cancelled');
    expect((await get(ADA, `/v1/code/${id}`)).body.state).toBe('cancelled');
    await eventually(
      async () => ((await processLines()).some((l) => l.includes(marker)) ? undefined : true),
      'the sandboxed sleep to be killed',
      30_000,
    );
    // the loop saw the cancellation: the run ends cancelled in its trajectory, and asks the model nothing more
    const steps = await eventually(async () => {
      const s = await get(ADA, `/v1/code/${id}/steps`);
      return s.body.status ? s : undefined;
    }, 'the run to record its end');
    expect(steps.body.status).toBe('cancelled');
    expect(june.llm.chatRequests().length).toBe(before + 1);
  });

  it('answers bad requests with clear 4xx errors', async () => {
    const empty = await post(ADA, { task: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatchObject({ code: 'invalid_request', field: 'body.task' });
    expect(empty.body.error.message).toMatch(/the task is empty/);
    expect((await post(ADA, {})).body.error.field).toBe('body.task');
    expect((await post(ADA, { task: 'x', conversation: 'a b' })).status).toBe(400);

    const outside = await post(ADMIN, { task: 'fix it', project: '/etc' });
    expect(outside.status).toBe(400);
    expect(outside.body.error).toMatchObject({ code: 'invalid_request', field: 'body.project' });
    expect(outside.body.error.message).toMatch(/JUNE_AGENT_PROJECTS/);
    const missing = await post(ADMIN, { task: 'fix it', project: path.join(projects, 'nope') });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/does not exist/);
    const notAdmin = await post(ADA, { task: 'fix it', project: path.join(projects, 'notes') });
    expect(notAdmin.status).toBe(403);

    const noToken = await fetch(`${june.base}/v1/code`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task: 'x' }),
    });
    expect(noToken.status).toBe(401);
    expect((await get(ADA, '/v1/code/no-such-task')).status).toBe(404);
    expect((await get(ADA, '/v1/code/no-such-task/steps')).status).toBe(404);
    expect((await post(ADA, {}, '/v1/code/no-such-task/cancel')).status).toBe(404);
    // nothing reached the queue
    const tasks = await june.queue.list({ limit: 100 });
    expect(tasks.filter((t) => (t.payload as { task?: string }).task === 'fix it')).toEqual([]);
  });

  it('works on a copy of an allow-listed project; the project itself is untouched', async () => {
    june.llm.enqueue(
      nativeCalls([
        { name: 'edit_file', args: { path: 'todo.txt', old_text: 'buy milk', new_text: 'buy oat milk' } },
      ]),
      nativeCalls([{ name: 'finish', args: { summary: 'Changed the list.' } }]),
    );
    const started = await post(ADMIN, { task: 'oat milk please', project: path.join(projects, 'notes') });
    expect(started.status).toBe(202);
    const id = started.body.taskId as string;
    const sse = await readSse(`${june.base}/v1/tasks/${id}/events`, bearer(ADMIN), { timeoutMs: 60_000 });
    const [completed] = named(sse.events, 'completed');
    expect(completed.result.status).toBe('completed');
    const diff = await (await fetch(`${june.base}/v1/code/${id}/diff`, { headers: bearer(ADMIN) })).text();
    expect(diff).toContain('+buy oat milk');
    expect(await fs.readFile(path.join(projects, 'notes', 'todo.txt'), 'utf8')).toBe('buy milk\n');
    expect((await get(ADMIN, `/v1/code/${id}`)).body.project).toBe(
      await fs.realpath(path.join(projects, 'notes')),
    );
  });

  it('answers from the task record when the run directory is not on this server', async () => {
    june.llm.enqueue(
      nativeCalls([{ name: 'write_file', args: { path: 'a.txt', content: 'a\n' } }]),
      nativeCalls([{ name: 'finish', args: { summary: 'Wrote a.txt.' } }]),
    );
    const id = (await post(ADA, { task: 'write a.txt' })).body.taskId as string;
    await readSse(`${june.base}/v1/tasks/${id}/events`, bearer(ADA), { timeoutMs: 60_000 });
    const runId = (await get(ADA, `/v1/code/${id}`)).body.result.runId as string;
    // as if the worker ran on another machine: its run directory is not here
    const runs = path.join(june.dir, 'agent', 'runs');
    await fs.rename(path.join(runs, runId), path.join(june.dir, 'elsewhere'));
    const steps = await get(ADA, `/v1/code/${id}/steps`);
    expect(steps.body).toMatchObject({
      id,
      runId,
      local: false,
      status: 'completed',
      answer: 'Wrote a.txt.',
    });
    expect(steps.body.note).toMatch(/not on this server/);
    expect(steps.body.steps).toEqual([
      { step: 1, activity: 'editing a.txt', calls: [] },
      { step: 2, activity: 'finishing', calls: [] },
    ]);
    const diff = await fetch(`${june.base}/v1/code/${id}/diff`, { headers: bearer(ADA) });
    expect(diff.status).toBe(200);
    expect(await diff.text()).toContain('+a');
  });

  it('says so when no worker serves the code capability', async () => {
    await june.pool.stop();
    const res = await post(ADA, { task: 'write hello.py' });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('not_ready');
    expect(res.body.error.message).toMatch(/No worker here can run coding tasks/);
  });
});
