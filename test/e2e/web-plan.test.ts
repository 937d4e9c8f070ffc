/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked field by field */
/**
 * A plan's task tree over HTTP and in the CLI, end to end: June's real web server, SQLite queue and workers
 * serving plan roots and chat subtasks, the planner driven by the scripted OpenAI-compatible server (the
 * make_plan call scripted, subtasks and the answer from the echo model). `/plan` typed on the web starts
 * a diamond plan; GET /v1/tasks/:id/tree shows the plan, each subtask's state, capability, needs and its
 * worker's steps, to the user who asked (404 to another user and for a task that is not a plan);
 * `june tasks tree ID` prints the same tree.
 */
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tasksCli from '../../src/cli/commands/tasks.js';
import { createLogger } from '../../src/observability/logger.js';
import { openTaskQueue } from '../../src/tasks/open-queue.js';
import { eventually } from '../../src/tasks/testing/eventually.js';
import { PlanTreeView } from '../../src/web/tree-schemas.js';
import { bearer } from './web-client.js';
import { startPlanningJune, type PlanningJune } from './web-plan-harness.js';

const ADMIN = 'plan-admin-token';
const ADA = 'plan-ada-token';
const BOB = 'plan-bob-token';

const DIAMOND = {
  goal: 'Compare two notes',
  subtasks: [
    { id: 'facts', capability: 'chat', instructions: 'List the facts in note one', needs: [] },
    { id: 'risks', capability: 'chat', instructions: 'List the risks in note two', needs: [] },
    { id: 'draft', capability: 'chat', instructions: 'Draft the comparison', needs: ['facts', 'risks'] },
  ],
};

let june: PlanningJune;

beforeAll(async () => {
  june = await startPlanningJune({ apiTokens: [`admin:${ADMIN}`, ADA, BOB] });
});

afterAll(async () => {
  await june?.stop();
});

async function get(token: string, url: string) {
  const res = await fetch(`${june.base}${url}`, { headers: bearer(token) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** `june tasks <args>` on this queue; what it printed. */
async function juneCli(...args: string[]): Promise<string> {
  let out = '';
  const program = new Command('june').exitOverride();
  tasksCli.register(program, {
    out: (t) => (out += t),
    // a second connection to the same SQLite queue, as the CLI opens one beside a running June
    openQueue: () => openTaskQueue(june.config, { logger: createLogger('silent') }),
    untilStopped: async () => undefined,
  });
  await program.parseAsync(['node', 'june', 'tasks', ...args]);
  return out;
}

describe('a plan tree', () => {
  it('is shown by GET /v1/tasks/:id/tree to its user and by june tasks tree', async () => {
    june.scriptPlan(DIAMOND);
    const id = await june.startPlan(ADA, 'compare my two notes');

    const tree = await eventually(
      async () => {
        const r = await get(ADA, `/v1/tasks/${id}/tree`);
        return r.status === 200 && r.body.root.state === 'completed' ? r.body : undefined;
      },
      'the tree of the completed plan',
      90_000,
    );
    expect(PlanTreeView.safeParse(tree).success).toBe(true);
    expect(tree.root).toMatchObject({ id, request: 'compare my two notes', status: 'completed' });
    expect(tree.plan).toMatchObject({ goal: 'Compare two notes' });
    expect(tree.subtasks.map((s: any) => [s.subtaskId, s.capability, s.state, s.needs])).toEqual([
      ['facts', 'chat', 'completed', []],
      ['risks', 'chat', 'completed', []],
      ['draft', 'chat', 'completed', ['facts', 'risks']],
    ]);
    for (const s of tree.subtasks) {
      expect(typeof s.taskId).toBe('string');
      expect(s.steps.length).toBeGreaterThan(0);
    }

    // another user, and a task that is not a plan
    expect((await get(BOB, `/v1/tasks/${id}/tree`)).status).toBe(404);
    expect((await get(ADMIN, `/v1/tasks/${id}/tree`)).status).toBe(200);
    const child = tree.subtasks[0].taskId as string;
    expect((await get(ADMIN, `/v1/tasks/${child}/tree`)).status).toBe(404);

    const printed = await juneCli('tree', id!);
    expect(printed).toContain(`plan ${id}  completed (completed)`);
    expect(printed).toContain('request: compare my two notes');
    expect(printed).toContain('goal: Compare two notes');
    expect(printed).toMatch(/├─ facts \[chat\] {2}completed {2}task \S+/);
    expect(printed).toMatch(/└─ draft \[chat\] {2}completed {2}task \S+ {2}needs: facts, risks/);
    expect(printed).toMatch(/step 1: /);
    expect(JSON.parse(await juneCli('tree', id!, '--json'))).toEqual(tree);
    await expect(juneCli('tree', child)).rejects.toThrow(/not a plan/);
  });
});
