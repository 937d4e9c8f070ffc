/**
 * The page's header on phones, in a real Chromium (Debian's /usr/bin/chromium): the brand, the three tabs
 * (Chat, Tasks, Evaluations) and the settings button each keep their own place, none overlapping another
 * and none past the screen's edge, at 390×844 and at the narrowest common width (320), light and dark; the
 * settings button stays large enough to touch and opens the settings. Screenshots go to
 * test-results/screenshots/.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJune, type RunningJune } from './web-harness.js';

const TOKEN = 'header-page-token-aaaaaaaaaaaa';
const SHOTS = path.resolve('test-results/screenshots');

let june: RunningJune;
let browser: Browser;

beforeAll(async () => {
  june = await startJune({ apiTokens: [TOKEN] });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await june?.stop();
});

async function newPage(viewport: { width: number; height: number }, colorScheme: 'light' | 'dark') {
  const context = await browser.newContext({ viewport, colorScheme, deviceScaleFactor: 2 });
  await context.addInitScript({ content: `localStorage.setItem('june.token', ${JSON.stringify(TOKEN)})` });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
  await page.goto(`${june.base}/`);
  await page.locator('body[data-ready="true"]').waitFor();
  await page.locator('#tab-evals').waitFor();
  return page;
}

type Box = { x: number; y: number; width: number; height: number };
const overlap = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

async function boxes(page: Page): Promise<Record<string, Box>> {
  const out: Record<string, Box> = {};
  for (const sel of ['.brand', '#tab-chat', '#tab-tasks', '#tab-evals', '#open-settings']) {
    const box = await page.locator(sel).boundingBox();
    expect(box, `${sel} is shown`).not.toBeNull();
    out[sel] = box!;
  }
  return out;
}

describe('the header on a phone', () => {
  for (const [width, height, scheme] of [
    [390, 844, 'light'],
    [390, 844, 'dark'],
    [320, 640, 'light'],
  ] as const) {
    it(`keeps the tabs and the settings button apart at ${width}×${height} (${scheme})`, async () => {
      const page = await newPage({ width, height }, scheme);
      const b = await boxes(page);
      // the brand is shown whole (its logo not clipped), or left to screen readers on the narrowest phones
      const logo = (await page.locator('.brand img').boundingBox())!;
      if (b['.brand']!.width > 1) expect(b['.brand']!.width).toBeGreaterThanOrEqual(logo.width);
      else {
        expect(width).toBeLessThan(360);
        delete b['.brand'];
      }
      const names = Object.keys(b);
      for (const [i, one] of names.entries()) {
        for (const other of names.slice(i + 1))
          expect(overlap(b[one]!, b[other]!), `${one} overlaps ${other}`).toBe(false);
        expect(b[one]!.x, `${one} starts on screen`).toBeGreaterThanOrEqual(0);
        expect(b[one]!.x + b[one]!.width, `${one} ends on screen`).toBeLessThanOrEqual(width);
      }
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);
      // the tab labels are not cut: each tab is as wide as its text needs
      for (const tab of ['#tab-chat', '#tab-tasks', '#tab-evals'])
        expect(
          await page.locator(tab).evaluate((e) => e.scrollWidth <= e.clientWidth),
          `${tab} shows its whole label`,
        ).toBe(true);
      expect(b['#open-settings']!.width).toBeGreaterThanOrEqual(36);
      await fs.mkdir(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, `header-phone-${width}-${scheme}.png`) });

      // the settings button is the one that gets the tap at its centre, and opens the settings
      const s = b['#open-settings']!;
      const hit = await page.evaluate<string | undefined>(
        `document.elementFromPoint(${s.x + s.width / 2}, ${s.y + s.height / 2})?.closest('button')?.id`,
      );
      expect(hit).toBe('open-settings');
      await page.locator('#open-settings').click();
      await page.locator('dialog#settings[open]').waitFor();
      // and the Evaluations tab still opens its view
      await page.keyboard.press('Escape');
      await page.locator('#tab-evals').click();
      await expect.poll(() => page.locator('#view-evals').isVisible()).toBe(true);
      await page.context().close();
    });
  }
});
