/**
 * The page's Evaluations view in a real Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
 * against a real June with a worker serving `eval` (the real checker sandbox): the runs list, a run's
 * per-task grid, and a failing sample's input, expected and actual values.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetsDir } from '../../src/eval/dataset-cache.js';
import { DATASETS, loadDataset } from '../../src/eval/datasets.js';
import { createEvalHandlers, type EvalHandlers } from '../../src/eval/queue-handlers.js';
import { DATA_FILES, hasSharedData } from '../../src/eval/test-data.js';
import { createLogger } from '../../src/observability/logger.js';
import { HandlerRegistry } from '../../src/tasks/handlers.js';
import { startWorkers, type WorkerPool } from '../../src/tasks/runtime.js';
import { eventually } from '../../src/tasks/testing/eventually.js';
import { jsonHeaders } from './web-client.js';
import { startJune, type RunningJune } from './web-harness.js';

const ADMIN = 'page-evals-admin-token';

let june: RunningJune;
let pool: WorkerPool;
let evals: EvalHandlers;
let browser: Browser;

beforeAll(async () => {
  if (!hasSharedData) return;
  june = await startJune({ apiTokens: [`admin:${ADMIN}`], offline: true });
  const cached = path.join(datasetsDir(june.config), DATASETS.humaneval.file);
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  fs.copyFileSync(DATA_FILES.humaneval, cached);
  const registry = new HandlerRegistry();
  evals = (await createEvalHandlers({ config: june.config, logger: createLogger('silent') }))!;
  evals.register(registry);
  pool = await startWorkers({
    queue: june.queue,
    config: june.config,
    registry,
    capabilities: ['eval'],
    concurrency: 1,
    metrics: false,
    logger: createLogger('silent'),
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

afterAll(async () => {
  await browser?.close();
  await pool?.stop();
  await evals?.close();
  await june?.stop();
});

describe.skipIf(!hasSharedData)('the Evaluations view', () => {
  it("shows the runs, a run's grid, and a failing task's input, expected and actual values", async () => {
    const dataset = loadDataset('humaneval', DATA_FILES.humaneval);
    const samples = [
      { task_id: 'HumanEval/2', solution: dataset.byId.get('HumanEval/2')!.reference },
      { task_id: 'HumanEval/4', completion: '    return 0.0\n' },
    ];
    const res = await fetch(`${june.base}/v1/evals`, {
      method: 'POST',
      headers: jsonHeaders(ADMIN),
      body: JSON.stringify({
        dataset: 'humaneval',
        samples: samples.map((s) => JSON.stringify(s)).join('\n'),
      }),
    });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as { id: string }).id;
    await eventually(
      async () => {
        const r = await fetch(`${june.base}/v1/evals/${id}`, { headers: jsonHeaders(ADMIN) });
        return ((await r.json()) as { state: string }).state === 'completed' || undefined;
      },
      'the run to complete',
      120_000,
    );

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript({ content: `localStorage.setItem('june.token', ${JSON.stringify(ADMIN)})` });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(`${june.base}/`);
    await page.locator('body[data-ready="true"]').waitFor();
    await page.locator('#tab-evals').click();
    expect(await page.locator('#view-chat').isHidden()).toBe(true);
    const row = page.locator(`#evals-body tr[data-run="${id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('completed');
    await row.locator('button').click();
    const cells = page.locator('.eval-cell');
    await cells.first().waitFor();
    expect(await cells.count()).toBe(2);
    await page.locator('.eval-cell[data-status="fail"]').click();
    const input = page.locator('.eval-failure dd[data-field="input"]');
    await input.waitFor();
    expect(await input.textContent()).toBe('candidate([1.0, 2.0, 3.0])');
    expect(await page.locator('.eval-failure dd[data-field="actual"]').textContent()).toBe('0.0');
    expect(
      (await page.locator('.eval-failure dd[data-field="expected"]').textContent())?.length,
    ).toBeGreaterThan(0);
    expect(await page.locator('.eval-sample').textContent()).toContain('mean_absolute_deviation');
    // back to the chat: its panel shows again
    await page.locator('#tab-chat').click();
    expect(await page.locator('#view-chat').isVisible()).toBe(true);
    expect(await page.locator('#view-evals').isHidden()).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);
});
