/**
 * `/code` on the web page, in a real Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
 * against a real June whose worker runs the coding agent in real bubblewrap, the model being the scripted
 * OpenAI-compatible server. The test holds the model's replies back to see the run mid-way: the steps
 * appear one by one, the command's output is folded, each step shows its diff, the changes download, and
 * a Cancel button stops a running command; after a reload the run shows again in its chat. Screenshots go
 * to test-results/screenshots/.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBubblewrap } from '../../src/sandbox/factory.js';
import { nativeCalls } from '../helpers/fake-agent-scripts.js';
import { gate, heldUntil, startCodingJune, type CodingJune } from './web-code-harness.js';

const bwrap = await checkBubblewrap();
const TOKEN = 'page-code-user-token';
const SHOTS = path.resolve('test-results/screenshots');

let june: CodingJune;
let browser: Browser;

async function newPage(viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({
    viewport,
    acceptDownloads: true,
    deviceScaleFactor: viewport.width < 600 ? 2 : 1,
  });
  await context.addInitScript({ content: `localStorage.setItem('june.token', ${JSON.stringify(TOKEN)})` });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
  await page.goto(`${june.base}/`);
  await page.locator('body[data-ready="true"]').waitFor();
  return page;
}

async function shot(page: Page, name: string) {
  await fs.mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function type(page: Page, text: string) {
  await page.locator('#message').fill(text);
  await page.locator('#message').press('Enter');
}

beforeAll(async () => {
  if (!bwrap.ok) return;
  june = await startCodingJune({ apiTokens: [TOKEN] });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await june?.stop();
});

describe.skipIf(!bwrap.ok)('/code on the web page', () => {
  it('shows the steps live, the command output folded, each diff, the answer, and downloads the changes', async () => {
    const next = gate();
    june.llm.enqueue(
      nativeCalls([
        { name: 'write_file', args: { path: 'app.py', content: 'print("hello from app.py")\n' } },
      ]),
      heldUntil(nativeCalls([{ name: 'execute_command', args: { command: 'python3 app.py' } }]), next.wait),
      nativeCalls([{ name: 'finish', args: { summary: 'Wrote **app.py**; it prints hello.' } }]),
    );
    const page = await newPage({ width: 1200, height: 900 });
    await type(page, '/code write app.py that prints hello');

    const run = page.locator('#turns > li.code-turn').last();
    await expect
      .poll(() => run.locator('.bubble.user').textContent())
      .toBe('/code write app.py that prints hello');
    // step 1 is shown with its diff while step 2's model reply is still held back
    const step1 = run.locator('.code-step[data-step="1"]');
    await step1.locator('.step-diff').waitFor({ timeout: 60_000 });
    expect(await step1.locator('.activity').textContent()).toBe('editing app.py');
    expect(await step1.locator('.step-diff .line.add').allTextContents()).toContain(
      '+print("hello from app.py")\n',
    );
    expect(await run.locator('.code-cancel').isVisible()).toBe(true);
    expect(await run.locator('a.download').count()).toBe(0);
    await expect.poll(() => run.locator('.code-status').textContent()).toMatch(/^step \d+: /);
    await shot(page, 'code-run-live-desktop');
    next.open();

    // step 2: the command, its output folded until opened
    const command = run.locator('.code-step[data-step="2"] details.command');
    await command.waitFor({ timeout: 60_000 });
    await expect.poll(() => command.locator('summary .cmd').textContent()).toBe('$ python3 app.py');
    await run.locator('a.download').waitFor({ timeout: 60_000 });
    expect(await command.locator('summary .exit').textContent()).toMatch(/^exit 0 · \d+ ms$/);
    const output = command.locator('pre.output');
    expect(await output.isVisible()).toBe(false);
    await command.locator('summary').click();
    expect(await output.isVisible()).toBe(true);
    expect(await output.textContent()).toContain('hello from app.py');

    // the end: the answer rendered as Markdown, the status, no Cancel button
    expect(await run.locator('.code-answer strong').textContent()).toBe('app.py');
    expect(await run.locator('.code-status').textContent()).toBe('Done after 3 steps.');
    expect(await run.locator('.code-cancel').isVisible()).toBe(false);
    await shot(page, 'code-run-done-desktop');

    const [download] = await Promise.all([page.waitForEvent('download'), run.locator('a.download').click()]);
    expect(download.suggestedFilename()).toMatch(/^[\w-]+\.diff$/);
    const diff = await fs.readFile((await download.path())!, 'utf8');
    expect(diff).toContain('+++ b/app.py');
    expect(diff).toContain('+print("hello from app.py")');

    // the tasks view lists the run (a user token sees its own runs)
    const id = await run.getAttribute('data-task-id');
    await page.locator('#tab-tasks').click();
    const row = page.locator(`#tasks-body tr[data-task-id="${id}"]`);
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 30_000 }).toBe('completed');
    expect(await row.locator('.what').textContent()).toBe('Coding run');
    await page.context().close();
  });

  it('a run shows again in its chat after a reload: the request, the steps, the answer and the changes', async () => {
    june.llm.enqueue(
      nativeCalls([{ name: 'write_file', args: { path: 'notes.txt', content: 'kept\n' } }]),
      nativeCalls([{ name: 'finish', args: { summary: 'Wrote *notes.txt*.' } }]),
    );
    const page = await newPage({ width: 1200, height: 900 });
    await type(page, '/code write notes.txt');
    const live = page.locator('#turns > li.code-turn').last();
    await live.locator('a.download').waitFor({ timeout: 60_000 });
    const id = await live.getAttribute('data-task-id');
    // the run's outcome is stored once the task has ended: wait for it (the page shows the end first)
    await expect
      .poll(
        async () => {
          const res = await fetch(`${june.base}/v1/conversations/default/messages`, {
            headers: { authorization: `Bearer ${TOKEN}` },
          });
          const body = (await res.json()) as { turns: Array<{ taskId?: string; reply?: string }> };
          return body.turns.find((t) => t.taskId === id)?.reply;
        },
        { timeout: 30_000 },
      )
      .toContain('Wrote *notes.txt*.');

    await page.reload();
    await page.locator('body[data-ready="true"]').waitFor();
    const run = page.locator(`#turns > li.code-turn[data-task-id="${id}"]`);
    await run.waitFor({ timeout: 30_000 });
    expect(await run.locator('.bubble.user').textContent()).toBe('/code write notes.txt');
    await expect
      .poll(() => run.locator('.code-status').textContent(), { timeout: 30_000 })
      .toBe('Done after 2 steps.');
    expect(await run.locator('.code-answer em').textContent()).toBe('notes.txt');
    await run.locator('.code-step[data-step="1"] .step-diff').waitFor({ timeout: 30_000 });
    await run.locator('a.download').waitFor({ timeout: 30_000 });
    expect(await run.locator('.code-cancel').isVisible()).toBe(false);
    // shown once, as a coding run (not also as a plain chat turn)
    expect(await page.locator(`#turns > li[data-task-id="${id}"]`).count()).toBe(1);
    await shot(page, 'code-run-after-reload-desktop');
    const [download] = await Promise.all([page.waitForEvent('download'), run.locator('a.download').click()]);
    expect(await fs.readFile((await download.path())!, 'utf8')).toContain('+kept');
    await page.context().close();
  });

  it('Cancel stops a running command, and a bare /code gets a clear answer', async () => {
    june.llm.enqueue(
      nativeCalls([{ name: 'execute_command', args: { command: 'sleep 654.321', timeout_seconds: 600 } }]),
    );
    const page = await newPage({ width: 390, height: 844 });
    await type(page, '/code wait a while');
    const run = page.locator('#turns > li.code-turn').last();
    await expect
      .poll(() => run.locator('.code-step[data-step="1"] .activity').textContent(), { timeout: 60_000 })
      .toBe('running: sleep 654.321');
    await shot(page, 'code-run-running-phone');
    await run.locator('.code-cancel').click();
    await expect
      .poll(() => run.locator('.code-status').textContent(), { timeout: 60_000 })
      .toBe('Cancelled.');
    expect(await run.locator('.code-run').getAttribute('data-state')).toBe('cancelled');
    expect(await run.locator('.code-cancel').isVisible()).toBe(false);
    // the command no longer shows as running
    await expect
      .poll(() => run.locator('.code-step[data-step="1"] summary .exit').textContent(), { timeout: 30_000 })
      .not.toBe('running…');

    await type(page, '/code');
    const bare = page.locator('#turns > li.code-turn').last();
    await expect
      .poll(() => bare.locator('.error').textContent(), { timeout: 30_000 })
      .toMatch(/^the task is empty/);
    await shot(page, 'code-run-cancelled-phone');
    await page.context().close();
  });
});
