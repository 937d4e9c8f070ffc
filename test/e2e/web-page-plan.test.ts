/**
 * A plan's tree in the web page's tasks view, in a real Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) against a real June whose workers run plan roots and chat subtasks, the model being
 * the scripted OpenAI-compatible server. The test holds the last subtask's model reply back to see the
 * tree mid-way (two subtasks done, the third active with its worker's step), then lets it finish and sees
 * every subtask done. Screenshots go to test-results/screenshots/.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBTASK_SYSTEM_PROMPT } from '../../src/planner/model.js';
import { textOnly } from '../helpers/fake-agent-scripts.js';
import { gate, heldUntil } from './web-code-harness.js';
import { startPlanningJune, type PlanningJune } from './web-plan-harness.js';

const TOKEN = 'page-plan-user-token';
const SHOTS = path.resolve('test-results/screenshots');

let june: PlanningJune;
let browser: Browser;

async function newPage(viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  await context.addInitScript({ content: `localStorage.setItem('june.token', ${JSON.stringify(TOKEN)})` });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
  await page.goto(`${june.base}/`);
  await page.locator('body[data-ready="true"]').waitFor();
  return page;
}

beforeAll(async () => {
  june = await startPlanningJune({ apiTokens: [TOKEN] });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await june?.stop();
});

describe('a plan in the tasks view', () => {
  it('shows the tree with live states and the current step', async () => {
    june.scriptPlan({
      goal: 'Compare two notes',
      subtasks: [
        { id: 'facts', capability: 'chat', instructions: 'List the facts in note one', needs: [] },
        { id: 'risks', capability: 'chat', instructions: 'List the risks in note two', needs: [] },
        { id: 'draft', capability: 'chat', instructions: 'Draft the comparison', needs: ['facts', 'risks'] },
      ],
    });
    const last = gate();
    const isDraft = (b: { messages?: { role: string; content: unknown }[] }) =>
      b.messages?.[0]?.content === SUBTASK_SYSTEM_PROMPT &&
      String(b.messages?.[1]?.content ?? '').includes('Draft the comparison');
    june.llm.enqueueWhen(isDraft, heldUntil(textOnly('The comparison: both notes agree.'), last.wait));

    const page = await newPage({ width: 1200, height: 900 });
    const id = await june.startPlan(TOKEN, 'compare my two notes');
    await page.locator('#tab-tasks').click();
    const tree = page.locator(`#tasks-body tr.plan-tree-row[data-tree-of="${id}"]`);
    await tree.waitFor({ timeout: 60_000 });
    const sub = (name: string) => tree.locator(`li.subtask[data-subtask="${name}"]`);
    await expect.poll(() => sub('draft').getAttribute('data-state'), { timeout: 60_000 }).toBe('active');
    expect(await sub('facts').getAttribute('data-state')).toBe('completed');
    expect(await sub('risks').getAttribute('data-state')).toBe('completed');
    expect(await tree.locator('.plan-goal').textContent()).toBe('Plan: Compare two notes');
    await expect
      .poll(() => page.locator(`#tasks-body tr[data-task-id="${id}"] td.progress.wide`).textContent())
      .toBe('2 of 3 done');
    expect(await sub('draft').locator('.needs').textContent()).toBe('after facts, risks');
    expect(await sub('draft').locator('.capability').textContent()).toBe('chat');
    await expect.poll(() => sub('draft').locator('.step').textContent()).toMatch(/^now: /);
    // each subtask's steps, folded
    expect(await sub('facts').locator('details.steps summary').textContent()).toMatch(/^\d+ steps?$/);
    expect(await sub('facts').locator('details.steps li').first().textContent()).toMatch(/^1: /);
    expect(await page.locator(`#tasks-body tr[data-task-id="${id}"] .what`).textContent()).toBe(
      'Plan: “compare my two notes”',
    );
    await fs.mkdir(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'plan-tree-live.png'), fullPage: true });

    last.open();
    await expect.poll(() => sub('draft').getAttribute('data-state'), { timeout: 60_000 }).toBe('completed');
    await expect
      .poll(() => page.locator(`#tasks-body tr[data-task-id="${id}"]`).getAttribute('data-state'), {
        timeout: 60_000,
      })
      .toBe('completed');
    await page.screenshot({ path: path.join(SHOTS, 'plan-tree-done.png'), fullPage: true });
  });
});
