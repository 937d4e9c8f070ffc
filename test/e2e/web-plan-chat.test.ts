/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked field by field */
/**
 * Plans in the web chat over HTTP, end to end: June's real web server, SQLite queue and workers serving
 * plan roots, chat subtasks and (where bubblewrap works) code subtasks, the planner driven by the scripted
 * OpenAI-compatible server. `/plan` typed on the web makes a plan over the approval cost: GET /v1/plans
 * lists it for its conversation, GET /v1/plans/:id shows it waiting; another user gets 404, an admin who
 * did not ask gets 403, the asker's approval runs it once (a second approval starts nothing), and the
 * conversation keeps both runs. A code subtask's file is downloaded from GET /v1/plans/:id/files/0 by the
 * asker only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBubblewrap } from '../../src/sandbox/factory.js';
import { eventually } from '../../src/tasks/testing/eventually.js';
import { PlanList, PlanView } from '../../src/web/plan-schemas.js';
import { nativeCalls } from '../helpers/fake-agent-scripts.js';
import { bearer, jsonHeaders } from './web-client.js';
import { startPlanningJune, type PlanningJune } from './web-plan-harness.js';

const ADMIN = 'plan-chat-admin-token';
const ADA = 'plan-chat-ada-token';
const BOB = 'plan-chat-bob-token';

const bwrap = await checkBubblewrap();
let june: PlanningJune;

beforeAll(async () => {
  june = await startPlanningJune(
    {
      apiTokens: [`admin:${ADMIN}`, ADA, BOB],
      planApprovalSubtasks: 1,
      ...(bwrap.ok ? { sandbox: 'bubblewrap' } : {}),
    },
    bwrap.ok ? ['chat', 'plan', 'code'] : ['chat', 'plan'],
  );
}, 60_000);

afterAll(async () => {
  await june?.stop();
});

async function call(token: string, method: string, url: string) {
  const res = await fetch(`${june.base}${url}`, {
    method,
    headers: method === 'POST' ? jsonHeaders(token) : bearer(token),
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  const type = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    headers: res.headers,
    body: (type.startsWith('application/json') ? await res.json() : await res.text()) as any,
  };
}
const get = (token: string, url: string) => call(token, 'GET', url);
const post = (token: string, url: string) => call(token, 'POST', url);

/** The plan once its root has ended. */
const ended = (token: string, id: string) =>
  eventually(
    async () => {
      const r = await get(token, `/v1/plans/${id}`);
      return r.status === 200 && ['completed', 'dead', 'cancelled'].includes(r.body.state)
        ? r.body
        : undefined;
    },
    `plan ${id} to end`,
    120_000,
  );

describe('a plan in the web chat', () => {
  it('waits for the asker, who approves it once; others cannot see or approve it', async () => {
    june.scriptPlan({
      goal: 'Compare two notes',
      subtasks: [
        { id: 'facts', capability: 'chat', instructions: 'List the facts in note one', needs: [] },
        { id: 'draft', capability: 'chat', instructions: 'Draft the comparison', needs: ['facts'] },
      ],
    });
    const id = await june.startPlan(ADA, 'compare my two notes');
    const waiting = await ended(ADA, id);
    expect(PlanView.safeParse(waiting).success).toBe(true);
    expect(waiting).toMatchObject({
      id,
      state: 'completed',
      request: 'compare my two notes',
      conversation: 'plans',
      status: 'Plan: waiting for your approval.',
      needsApproval: true,
      mine: true,
      result: { status: 'awaiting-approval', files: [] },
    });
    expect(waiting.plan.subtasks.map((s: any) => s.id)).toEqual(['facts', 'draft']);

    const listed = await get(ADA, '/v1/plans?conversation=plans');
    expect(PlanList.safeParse(listed.body).success).toBe(true);
    expect(listed.body.plans.map((p: any) => p.id)).toContain(id);
    expect((await get(BOB, '/v1/plans?conversation=plans')).body.plans).toEqual([]);

    // another user: no such plan; an admin who did not ask sees it but may not approve it
    expect((await get(BOB, `/v1/plans/${id}`)).status).toBe(404);
    expect((await post(BOB, `/v1/plans/${id}/approve`)).status).toBe(404);
    const admin = await get(ADMIN, `/v1/plans/${id}`);
    expect(admin.body).toMatchObject({ mine: false, needsApproval: true });
    const forbidden = await post(ADMIN, `/v1/plans/${id}/approve`);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('forbidden');

    const approved = await post(ADA, `/v1/plans/${id}/approve`);
    expect(approved.status).toBe(202);
    const runId = approved.body.taskId as string;
    expect(runId).not.toBe(id);
    expect(approved.body.links.self).toBe(`/v1/plans/${runId}`);
    const again = await post(ADA, `/v1/plans/${id}/approve`);
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain(runId);

    const run = await ended(ADA, runId);
    expect(run).toMatchObject({ state: 'completed', approvedFrom: id, needsApproval: false });
    expect(run.result.status).toBe('completed');
    expect(run.result.answer.length).toBeGreaterThan(0);
    expect(run.status).toBe('Plan: done (2 of 2 done).');
    const after = await get(ADA, `/v1/plans/${id}`);
    expect(after.body).toMatchObject({ needsApproval: false, approvedAs: runId });

    // one approval run only: the plan and its run are the conversation's two plans
    const plans = (await get(ADA, '/v1/plans?conversation=plans')).body.plans.map((p: any) => p.id);
    expect(plans.filter((p: string) => p === runId || p === id)).toEqual([id, runId]);
    expect(plans.length).toBe(2);
    expect((await post(ADA, `/v1/plans/${runId}/cancel`)).status).toBe(409);

    // the conversation keeps both, as plan turns the page shows again after a reload
    const history = await get(ADA, '/v1/conversations/plans/messages');
    const turns = history.body.turns.filter((t: any) => t.plan);
    expect(turns.map((t: any) => [t.taskId, t.plan.links.self])).toEqual([
      [id, `/v1/plans/${id}`],
      [runId, `/v1/plans/${runId}`],
    ]);
    expect(turns[0].user).toBe('/plan compare my two notes');
  });

  it.skipIf(!bwrap.ok)("downloads a code subtask's file, for the asker only", async () => {
    june.scriptPlan({
      goal: 'Script',
      subtasks: [{ id: 'code', capability: 'code', instructions: 'Write hi.sh that prints hi', needs: [] }],
    });
    const isAgent = (b: { tools?: { function: { name: string } }[] }) =>
      b.tools?.some((t) => t.function.name === 'write_file') === true;
    june.llm.enqueueWhen(
      isAgent,
      nativeCalls([{ name: 'write_file', args: { path: 'hi.sh', content: 'echo hi\n' } }]),
      nativeCalls([{ name: 'finish', args: { summary: 'wrote hi.sh, it prints hi' } }]),
    );
    const res = await fetch(`${june.base}/v1/messages`, {
      method: 'POST',
      headers: jsonHeaders(ADA),
      body: JSON.stringify({ text: '/plan write me a script that says hi', conversation: 'files' }),
    });
    expect(res.status).toBe(200);
    const listed = await eventually(
      async () => (await get(ADA, '/v1/plans?conversation=files')).body.plans[0],
      'the plan listed',
      30_000,
    );
    const done = await ended(ADA, listed.id);
    expect(done.result.status).toBe('completed');
    expect(done.result.files).toEqual([{ name: 'hi.sh', url: `/v1/plans/${listed.id}/files/0` }]);
    const file = await get(ADA, done.result.files[0].url);
    expect(file.status).toBe(200);
    expect(file.body).toBe('echo hi\n');
    expect(file.headers.get('content-disposition')).toBe('attachment; filename="hi.sh"');
    expect((await get(BOB, done.result.files[0].url)).status).toBe(404);
    expect((await get(ADA, `/v1/plans/${listed.id}/files/1`)).status).toBe(404);
  });
});
