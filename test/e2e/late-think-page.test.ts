/**
 * The web page in a real Chromium, against a Qwen3-Thinking-2507 served as `qwen3` without a reasoning
 * parser: the thought's first sentences stream in as if they were the answer until the late `</think>`,
 * and then leave the page. The LLM holds its answer after the first sentence until the test has looked,
 * so what the page shows mid-answer is checked by order, not by timing.
 */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamStep } from '../helpers/fake-openai-server.js';
import { LATE_ANSWER, LATE_THOUGHT, chunk } from '../helpers/fake-openai-scenarios.js';
import { startJune, type RunningJune } from './web-harness.js';

const TOKEN = 'late-think-page-token';
const MORE = ' It is on the Seine.';

let june: RunningJune;
let browser: Browser;

beforeAll(async () => {
  june = await startJune({ apiTokens: [TOKEN], llmModel: 'qwen3' });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await june?.stop();
});

/** Thought, late `</think>`, the answer's first sentence and the next word; then `hold`; then the rest. */
function lateThoughtHeldMidAnswer(hold: Promise<unknown>): StreamStep[] {
  const tokens = (s: string) => s.split(/(?=[\s<])/);
  const content = (c: string): StreamStep => ({ data: chunk({ content: c }, null, 'qwen3') });
  const [next, ...rest] = tokens(MORE);
  return [
    { data: chunk({ role: 'assistant', content: '' }, null, 'qwen3') },
    ...tokens(`${LATE_THOUGHT}\n</think>\n\n${LATE_ANSWER}`).map(content),
    content(next!),
    { hold },
    ...rest.map(content),
    { data: chunk({ content: '' }, 'stop', 'qwen3') },
  ];
}

describe('web page with a model that starts mid-thought', () => {
  it('takes the thought it showed back off the page once </think> arrives', async () => {
    let release = () => {};
    const hold = new Promise<void>((resolve) => (release = resolve));
    june.llm.enqueue({ stream: lateThoughtHeldMidAnswer(hold) });

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript({ content: `localStorage.setItem('june.token', ${JSON.stringify(TOKEN)})` });
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(`${june.base}/`);
    await page.locator('body[data-ready="true"]').waitFor();
    await page.locator('#message').fill('what is the capital of France');
    await page.locator('#message').press('Enter');
    const answer = page.locator('#turns > li').last().locator('.answer');
    try {
      // mid-answer: the retract has removed the thought, and only the answer's first sentence shows
      await expect.poll(() => answer.textContent(), { timeout: 30_000 }).toBe(LATE_ANSWER);
    } finally {
      release();
    }
    await expect.poll(() => answer.textContent(), { timeout: 30_000 }).toBe(`${LATE_ANSWER}${MORE}`);
    expect(await page.locator('#turns').textContent()).not.toContain(LATE_THOUGHT.slice(0, 30));
  });
});
