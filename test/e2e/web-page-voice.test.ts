/**
 * The web page's voice loop in a real Chromium against a real June (espeak-ng voice, the fake
 * OpenAI-compatible server as the LLM): a reply is heard sentence by sentence while the model is still
 * writing (the model is held after its first sentence until the page has started playing it), "Read aloud"
 * speaks a typed answer through POST /v1/speech, and the welcome names the model and voice in use.
 * Screenshots at desktop and phone widths go to test-results/screenshots/.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJune, waitForTask, type RunningJune } from './web-harness.js';

const TOKEN = 'voice-page-token-aaaaaaaaaaaa';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const SHOTS = path.resolve('test-results/screenshots');
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

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

async function newPage(viewport: { width: number; height: number }, speakText: boolean): Promise<Page> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: viewport.width < 600 ? 2 : 1 });
  await context.addInitScript({
    content: `localStorage.setItem('june.token', ${JSON.stringify(TOKEN)});
      localStorage.setItem('june.speakText', '${String(speakText)}');`,
  });
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

async function say(page: Page, text: string) {
  await page.locator('#message').fill(text);
  await page.locator('#message').press('Enter');
}

const lastTurn = (page: Page) => page.locator('#turns > li').last();

describe('web page voice', () => {
  it('plays the first sentence while the model is still writing the rest', async () => {
    const page = await newPage(DESKTOP, true);
    // the welcome names what June answers with
    await expect
      .poll(() => page.locator('#june-models').textContent(), { timeout: 10_000 })
      .toMatch(/june-test-model.*pocketsphinx.*espeak-ng/);
    await shot(page, 'welcome-desktop');

    let release!: () => void;
    june.llm.echo.holdAfterFirstSentence = new Promise<void>((r) => (release = r));
    try {
      await say(page, 'tell me about the sea');
      const turn = lastTurn(page);
      await page.locator('#turns > li[data-clips-played]').waitFor({ timeout: 30_000 });
      const taskId = (await turn.getAttribute('data-task-id'))!;
      // the model has not finished: the reply is not encoded yet, and its first sentence already plays
      const task = (await (await fetch(`${june.base}/v1/tasks/${taskId}`, { headers: AUTH })).json()) as {
        state: string;
      };
      expect(task.state).toBe('active');
      expect(await turn.locator('audio').count()).toBe(0);
      // the clip the page played is the first sentence's own audio
      const clip = await fetch(`${june.base}/v1/audio/${taskId}/sentences/0`, { headers: AUTH });
      expect(clip.status).toBe(200);
      expect(clip.headers.get('content-type')).toBe('audio/ogg');
      expect(
        Buffer.from(await clip.arrayBuffer())
          .subarray(0, 4)
          .toString(),
      ).toBe('OggS');
    } finally {
      release();
      june.llm.echo.holdAfterFirstSentence = undefined;
    }
    const turn = lastTurn(page);
    await expect
      .poll(() => turn.locator('.answer').textContent(), { timeout: 30_000 })
      .toMatch(/^You said: tell me about the sea\. That is a fine thing to say\./);
    // every sentence was played, and the whole reply is kept in a player that does not start again
    await expect.poll(() => turn.getAttribute('data-clips-played'), { timeout: 20_000 }).toBe('3');
    await turn.locator('audio.reply-audio').waitFor({ state: 'attached', timeout: 20_000 });
    expect(await turn.locator('audio.reply-audio').evaluate((a: { paused: boolean }) => a.paused)).toBe(true);
    await shot(page, 'streamed-desktop');
    await page.context().close();
  }, 120_000);

  it('reads a typed answer aloud on a phone', async () => {
    const page = await newPage(PHONE, false);
    await say(page, 'what is a tide');
    const turn = lastTurn(page);
    await expect
      .poll(() => turn.locator('.answer').textContent(), { timeout: 30_000 })
      .toMatch(/^You said: what is a tide/);
    const taskId = (await turn.getAttribute('data-task-id'))!;
    const task = await waitForTask(june.base, taskId, AUTH);
    expect((task.result as { audioId?: string }).audioId).toBeUndefined();
    expect(await turn.locator('audio').count()).toBe(0);
    expect(await turn.getAttribute('data-clips-played')).toBeNull();

    // the page asks the server to speak the answer's text
    const asked = page.waitForRequest((r) => r.url().endsWith('/v1/speech') && r.method() === 'POST');
    await turn.getByRole('button', { name: 'Read aloud' }).click();
    expect(JSON.parse((await asked).postData() ?? '{}')).toEqual({
      text: 'You said: what is a tide. That is a fine thing to say. Is there anything else?',
    });
    const audio = turn.locator('audio.reply-audio');
    await expect
      .poll(() => audio.evaluate((a: { readyState: number }) => a.readyState), { timeout: 30_000 })
      .toBeGreaterThan(0);
    expect(await audio.evaluate((a: { duration: number }) => a.duration)).toBeGreaterThan(1);
    expect(await turn.locator('.error').count()).toBe(0);
    // nothing wider than the screen once the player is laid out
    await expect
      .poll(() => page.evaluate<number>('document.documentElement.scrollWidth'))
      .toBeLessThanOrEqual(PHONE.width);
    await shot(page, 'read-aloud-phone');
    await page.context().close();
  }, 90_000);

  it('POST /v1/speech speaks a text and refuses an empty one', async () => {
    const post = (body: unknown) =>
      fetch(`${june.base}/v1/speech?format=wav`, {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await post({ text: 'Hello there. How are you?' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('audio/wav');
    const wav = Buffer.from(await ok.arrayBuffer());
    expect(wav.subarray(0, 4).toString()).toBe('RIFF');
    expect(wav.length).toBeGreaterThan(10_000);
    const empty = await post({ text: '   ' });
    expect(empty.status).toBe(400);
    const stranger = await fetch(`${june.base}/v1/speech`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'hi' }),
    });
    expect(stranger.status).toBe(401);
  }, 60_000);
});
