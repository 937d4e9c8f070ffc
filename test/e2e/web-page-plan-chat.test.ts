/**
 * A plan in the web page's chat view, in a real Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) against a real June whose workers run plan roots and chat subtasks, the model being the
 * scripted OpenAI-compatible server. `/plan` typed in the composer makes a plan over the approval cost:
 * its bubble shows the numbered plan and "Run the plan"; pressing it starts the run, whose bubble shows
 * the live status line ("Plan: 2 of 3 done: …", the last subtask's reply held back), then the answer. After
 * a reload both show again. A plan the chat model starts in an ordinary turn (plan_task) gets its bubble
 * too, and its Cancel button stops it. A code subtask's file (real bubblewrap) is a download link under the
 * answer. Screenshots go to test-results/screenshots/.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBTASK_SYSTEM_PROMPT } from '../../src/planner/model.js';
import { checkBubblewrap } from '../../src/sandbox/factory.js';
import { nativeCalls, textOnly } from '../helpers/fake-agent-scripts.js';
import type { RecordedBody } from '../helpers/fake-openai-server.js';
import { gate, heldUntil } from './web-code-harness.js';
import { startPlanningJune, type PlanningJune } from './web-plan-harness.js';

const TOKEN = 'page-plan-chat-token';
const SHOTS = path.resolve('test-results/screenshots');

const bwrap = await checkBubblewrap();
let june: PlanningJune;
let browser: Browser;

async function newPage(conversation = 'default'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  await context.addInitScript({
    content:
      `localStorage.setItem('june.token', ${JSON.stringify(TOKEN)});` +
      `localStorage.setItem('june.conversation', ${JSON.stringify(conversation)})`,
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
  await page.goto(`${june.base}/`);
  await page.locator('body[data-ready="true"]').waitFor();
  return page;
}

async function type(page: Page, text: string) {
  await page.locator('#message').fill(text);
  await page.locator('#message').press('Enter');
}

/** The subtask request whose instructions include `text`. */
const subtaskAsking = (text: string) => (b: RecordedBody) =>
  b.messages?.[0]?.content === SUBTASK_SYSTEM_PROMPT && String(b.messages?.[1]?.content ?? '').includes(text);

beforeAll(async () => {
  june = await startPlanningJune(
    { apiTokens: [TOKEN], planApprovalSubtasks: 2, ...(bwrap.ok ? { sandbox: 'bubblewrap' } : {}) },
    bwrap.ok ? ['chat', 'plan', 'code'] : ['chat', 'plan'],
  );
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await june?.stop();
});

describe('a plan in the chat view', () => {
  it('shows the plan for approval, runs it on "Run the plan", follows it and shows the answer, also after a reload', async () => {
    june.scriptPlan({
      goal: 'Compare two notes',
      subtasks: [
        { id: 'facts', capability: 'chat', instructions: 'List the facts in note one', needs: [] },
        { id: 'risks', capability: 'chat', instructions: 'List the risks in note two', needs: [] },
        { id: 'draft', capability: 'chat', instructions: 'Draft the comparison', needs: ['facts', 'risks'] },
      ],
    });
    const last = gate();
    june.llm.enqueueWhen(
      subtaskAsking('Draft the comparison'),
      heldUntil(textOnly('The comparison: both notes agree.'), last.wait),
    );

    const page = await newPage();
    await type(page, '/plan compare my two notes');
    const plans = page.locator('#turns > li.plan-turn');
    const asked = plans.first();
    await asked.locator('.plan-approve').waitFor({ timeout: 60_000 });
    expect(await asked.locator('.plan-approve').textContent()).toBe('Run the plan');
    expect(await asked.locator('.plan-status').textContent()).toBe('Plan: waiting for your approval.');
    expect(await asked.locator('.plan-goal').textContent()).toBe('Compare two notes');
    expect(await asked.locator('.plan-step .instructions').allTextContents()).toEqual([
      'List the facts in note one',
      'List the risks in note two',
      'Draft the comparison',
    ]);
    expect(await asked.locator('.plan-step').last().locator('.needs').textContent()).toBe('after 1, 2');
    // the command's own answer names the task
    expect(await page.locator('#turns > li.turn').first().locator('.answer').textContent()).toMatch(
      /^Planning it \(task /,
    );
    await fs.mkdir(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'plan-chat-approval.png'), fullPage: true });

    await asked.locator('.plan-approve').click();
    await expect.poll(() => plans.count(), { timeout: 30_000 }).toBe(2);
    expect(await asked.locator('.plan-actions').textContent()).toBe('Approved: running the plan.');
    const run = plans.nth(1);
    await expect
      .poll(() => run.locator('.plan-status').textContent(), { timeout: 60_000 })
      .toMatch(/^Plan: 2 of 3 done: /);
    expect(await run.locator('.plan-cancel').isVisible()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'plan-chat-running.png'), fullPage: true });

    last.open();
    await expect.poll(() => run.getAttribute('data-task-id')).toBeTruthy();
    const box = run.locator('.plan-run');
    await expect.poll(() => box.getAttribute('data-status'), { timeout: 60_000 }).toBe('completed');
    expect(await run.locator('.plan-status').textContent()).toBe('Plan: done (3 of 3 done).');
    await expect.poll(() => run.locator('.plan-answer').textContent()).not.toBe('');
    expect(await run.locator('.plan-cancel').isVisible()).toBe(false);
    await page.screenshot({ path: path.join(SHOTS, 'plan-chat-done.png'), fullPage: true });
    const answer = await run.locator('.plan-answer').textContent();

    await page.reload();
    await page.locator('#turns[data-loaded]').waitFor();
    await expect.poll(() => plans.count(), { timeout: 30_000 }).toBe(2);
    expect(await asked.locator('.bubble.user').textContent()).toBe('/plan compare my two notes');
    await expect.poll(() => asked.locator('.plan-actions').textContent()).toBe('Approved: running the plan.');
    expect(await asked.locator('.plan-approve').count()).toBe(0);
    await expect.poll(() => run.locator('.plan-answer').textContent()).toBe(answer);
    expect(await run.locator('.plan-status').textContent()).toBe('Plan: done (3 of 3 done).');
  });

  it('shows a plan the chat model starts, and Cancel stops it', async () => {
    const isChatTurn = (b: RecordedBody) => b.tools?.some((t) => t.function.name === 'plan_task') === true;
    june.llm.enqueueWhen(
      isChatTurn,
      nativeCalls([{ name: 'plan_task', args: { task: 'read my notes and summarise them' } }]),
      textOnly('I started a plan for that.'),
    );
    june.scriptPlan({
      goal: 'Summarise notes',
      subtasks: [{ id: 'sum', capability: 'chat', instructions: 'Summarise the notes', needs: [] }],
    });
    const never = gate();
    june.llm.enqueueWhen(subtaskAsking('Summarise the notes'), heldUntil(textOnly('never sent'), never.wait));

    const page = await newPage('tool');
    await type(page, 'please read my notes and summarise them, in several steps');
    const plan = page.locator('#turns > li.plan-turn').last();
    await expect
      .poll(() => plan.locator('.plan-status').textContent(), { timeout: 60_000 })
      .toMatch(/^Plan: 0 of 1 done: /);
    await plan.locator('.plan-cancel').click();
    await expect
      .poll(() => plan.locator('.plan-run').getAttribute('data-state'), { timeout: 60_000 })
      .toBe('cancelled');
    expect(await plan.locator('.plan-status').textContent()).toBe('Plan: cancelled.');
    never.open();
  });

  it.skipIf(!bwrap.ok)("offers a code subtask's file as a download under the answer", async () => {
    june.scriptPlan({
      goal: 'Script',
      subtasks: [{ id: 'code', capability: 'code', instructions: 'Write hi.sh that prints hi', needs: [] }],
    });
    const isAgent = (b: RecordedBody) => b.tools?.some((t) => t.function.name === 'write_file') === true;
    june.llm.enqueueWhen(
      isAgent,
      nativeCalls([{ name: 'write_file', args: { path: 'hi.sh', content: 'echo hi\n' } }]),
      nativeCalls([{ name: 'finish', args: { summary: 'wrote hi.sh, it prints hi' } }]),
    );
    const page = await newPage('files');
    await type(page, '/plan write me a script that says hi');
    const plan = page.locator('#turns > li.plan-turn').last();
    const link = plan.locator('a.plan-file');
    await link.waitFor({ timeout: 90_000 });
    expect(await link.textContent()).toBe('hi.sh');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('hi.sh');
    const file = await download.path();
    expect(await fs.readFile(file, 'utf8')).toBe('echo hi\n');
  });
});
