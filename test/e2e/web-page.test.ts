/**
 * The web page in a real Chromium (Debian's /usr/bin/chromium, driven by playwright-core) against a real
 * June. The microphone is Chromium's fake capture device playing an espeak-ng WAV (16-bit, 48 kHz mono;
 * Chromium loops it, so the clip ends in silence and the test holds the button for about one pass).
 * Screenshots of both views at desktop and phone widths go to test-results/screenshots/.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJune, waitForTask, type RunningJune } from './web-harness.js';

const run = promisify(execFile);
const TOKEN = 'admin:page-test-admin-token';
const BEARER = { authorization: 'Bearer page-test-admin-token' };
const SHOTS = path.resolve('test-results/screenshots');
const SPOKEN = 'what is the weather like in paris today';

/** What the test reads of an <audio> element (the tests compile without the DOM library). */
interface AudioElement {
  src: string;
  readyState: number;
  duration: number;
  error: { code: number } | null;
  addEventListener(type: string, listener: () => void, options?: { once: boolean }): void;
}

let june: RunningJune;
let browser: Browser;
let clipSeconds: number;

/** espeak-ng speech as the fake microphone: 16-bit 48 kHz mono, a little silence before and after. */
async function fakeMicrophoneWav(dir: string): Promise<string> {
  const raw = path.join(dir, 'mic-raw.wav');
  const wav = path.join(dir, 'mic.wav');
  await run('espeak-ng', ['-v', 'en-us', '-s', '140', '-w', raw, SPOKEN]);
  await run('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    '-i',
    raw,
    '-af',
    'adelay=300,apad=pad_dur=1.5',
    '-ac',
    '1',
    '-ar',
    '48000',
    '-c:a',
    'pcm_s16le',
    wav,
  ]);
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration',
    '-of',
    'csv=p=0',
    wav,
  ]);
  clipSeconds = Number(stdout.trim());
  return wav;
}

async function newPage(
  viewport: { width: number; height: number },
  { withToken = true, colorScheme = 'light' as 'light' | 'dark' } = {},
): Promise<Page> {
  const context = await browser.newContext({
    viewport,
    colorScheme,
    deviceScaleFactor: viewport.width < 600 ? 2 : 1,
  });
  await context.grantPermissions(['microphone'], { origin: june.base });
  if (withToken)
    await context.addInitScript({
      content: `localStorage.setItem('june.token', ${JSON.stringify(TOKEN.slice('admin:'.length))})`,
    });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
  await page.goto(`${june.base}/`);
  if (withToken) await page.locator('body[data-ready="true"]').waitFor();
  return page;
}

async function shot(page: Page, name: string) {
  await fs.mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** The newest turn's parts. */
const lastTurn = (page: Page) => {
  const turn = page.locator('#turns > li').last();
  return { user: turn.locator('.bubble.user'), answer: turn.locator('.answer'), turn };
};

async function expectPlayableReply(page: Page) {
  const audio = lastTurn(page).turn.locator('audio.reply-audio');
  await audio.waitFor({ timeout: 30_000 });
  await expect.poll(() => audio.evaluate((a: AudioElement) => a.src), { timeout: 15_000 }).toMatch(/^blob:/);
  const duration = await audio.evaluate(
    (a: AudioElement) =>
      new Promise<number>((resolve, reject) => {
        if (a.readyState >= 1) return resolve(a.duration);
        a.addEventListener('loadedmetadata', () => resolve(a.duration), { once: true });
        a.addEventListener('error', () => reject(new Error(`audio error ${a.error?.code}`)), { once: true });
      }),
  );
  // Chromium reports Infinity for some streamed files until played through; either way it has length
  expect(duration).toBeGreaterThan(0.5);
}

beforeAll(async () => {
  june = await startJune({ apiTokens: [TOKEN] });
  const wav = await fakeMicrophoneWav(june.dir);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await june?.stop();
});

describe('web page', () => {
  it('asks for the token once, then talks by text and by holding the microphone', async () => {
    const page = await newPage({ width: 1280, height: 900 }, { withToken: false });
    const dialog = page.locator('#token-dialog');
    await expect.poll(() => dialog.evaluate((d: { open: boolean }) => d.open)).toBe(true);
    await page.locator('#token-first').fill('wrong-token');
    await page.locator('#token-first').press('Enter');
    await expect.poll(() => page.locator('#token-error').textContent()).toMatch(/not accepted/);
    await page.locator('#token-first').fill(TOKEN.slice('admin:'.length));
    await page.locator('#token-form button[type=submit]').click();
    await page.locator('body[data-ready="true"]').waitFor();
    expect(await page.evaluate("localStorage.getItem('june.token')")).toBe('page-test-admin-token');

    // typed: the answer streams in and ends as the full echo
    await page.locator('#message').fill('hello from the browser');
    await page.locator('#message').press('Enter');
    await expect
      .poll(() => lastTurn(page).answer.textContent(), { timeout: 20_000 })
      .toBe('You said: hello from the browser. That is a fine thing to say. Is there anything else?');
    await expect(lastTurn(page).turn.locator('.timings dt').allTextContents()).resolves.toEqual(['LLM']);

    // spoken, holding the button with the pointer: transcript, answer, timings, a playable reply
    const mic = page.locator('#mic');
    const box = (await mic.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await expect.poll(() => mic.getAttribute('aria-pressed')).toBe('true');
    await page.waitForTimeout(clipSeconds * 1000);
    await page.mouse.up();
    await expect.poll(() => lastTurn(page).user.textContent(), { timeout: 30_000 }).toMatch(/weather/);
    await expect
      .poll(() => lastTurn(page).answer.textContent(), { timeout: 30_000 })
      .toMatch(/^You said: .*weather/);
    await expectPlayableReply(page);
    const stages = await lastTurn(page).turn.locator('.timings dt').allTextContents();
    expect(stages).toEqual(['Decode', 'STT', 'LLM', 'TTS', 'Encode']);

    // the same with the keyboard: Space held on the focused button
    await mic.focus();
    await page.keyboard.down('Space');
    await expect.poll(() => mic.getAttribute('aria-pressed')).toBe('true');
    await page.waitForTimeout(clipSeconds * 1000);
    await page.keyboard.up('Space');
    await expect.poll(() => page.locator('#turns > li').count()).toBe(3);
    await expect.poll(() => lastTurn(page).user.textContent(), { timeout: 30_000 }).toMatch(/weather/);
    await expectPlayableReply(page);
    await page.locator('#message').focus();
    await shot(page, 'chat-desktop');
  });

  it('records from a tap until the next tap, showing the time so far', async () => {
    const page = await newPage({ width: 1280, height: 900 });
    const before = await page.locator('#turns > li').count();
    const mic = page.locator('#mic');
    await mic.click();
    await expect.poll(() => mic.getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => page.locator('#mic-status').textContent()).toMatch(/tap again to send/);
    // the level meter moves with the speech of the fake microphone
    const level = page.locator('#mic-level');
    await expect.poll(() => level.isVisible()).toBe(true);
    await expect.poll(() => level.evaluate((m: { value: number }) => m.value)).toBeGreaterThan(0.02);
    await page.waitForTimeout(clipSeconds * 1000);
    // still recording after the tap was released, and the clock has moved on
    expect(await mic.getAttribute('aria-pressed')).toBe('true');
    expect(await page.locator('#mic-status').textContent()).toMatch(/Listening… 0:0[1-9]/);
    await mic.click();
    await expect.poll(() => mic.getAttribute('aria-pressed')).toBe('false');
    expect(await level.isVisible()).toBe(false);
    await expect.poll(() => page.locator('#turns > li').count()).toBe(before + 1);
    await expect.poll(() => lastTurn(page).user.textContent(), { timeout: 30_000 }).toMatch(/weather/);
    await expect
      .poll(() => lastTurn(page).answer.textContent(), { timeout: 30_000 })
      .toMatch(/^You said: .*weather/);
  });

  it('shows tasks live, workers, and dead letters with a redrive button', async () => {
    const page = await newPage({ width: 1280, height: 900 });
    await page.locator('#tab-tasks').click();
    await page.locator('#tasks-live').filter({ hasText: 'live' }).waitFor();
    await page.locator('#workers .worker').first().waitFor();
    expect(await page.locator('#workers').textContent()).toContain(`pid ${process.pid}`);

    const post = await fetch(`${june.base}/v1/messages`, {
      method: 'POST',
      headers: { ...BEARER, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'added through the API' }),
    });
    const { taskId } = (await post.json()) as { taskId: string };
    const row = page.locator(`#tasks-body tr[data-task-id="${taskId}"]`);
    await row.waitFor({ timeout: 10_000 });
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 20_000 }).toBe('completed');
    expect(await row.textContent()).toContain('added through the API');

    // a recording that is not audio dies; it shows up under dead letters, and Redrive runs it again
    const form = new FormData();
    form.set('audio', new Blob([new Uint8Array(4096).map((_, i) => (i * 7919) % 256)]), 'junk.ogg');
    const junk = await fetch(`${june.base}/v1/messages`, { method: 'POST', headers: BEARER, body: form });
    const junkId = ((await junk.json()) as { taskId: string }).taskId;
    await waitForTask(june.base, junkId, BEARER);
    const dead = page.locator('#dead li', { hasText: junkId });
    await dead.waitFor({ timeout: 10_000 });
    expect(await dead.textContent()).toContain('audio_not_audio');
    await shot(page, 'tasks-desktop');
    await dead.getByRole('button', { name: `Redrive task ${junkId}` }).click();
    await expect
      .poll(
        async () =>
          (
            (await (await fetch(`${june.base}/v1/tasks/${junkId}`, { headers: BEARER })).json()) as {
              attemptLog: unknown[];
            }
          ).attemptLog.length,
        { timeout: 15_000 },
      )
      .toBe(2);
  });

  it('fits a phone screen (in the dark theme)', async () => {
    const page = await newPage({ width: 390, height: 844 }, { colorScheme: 'dark' });
    await page.locator('#message').fill('how do you look on a phone');
    await page.locator('#send').click();
    await expect
      .poll(() => lastTurn(page).answer.textContent(), { timeout: 20_000 })
      .toMatch(/Is there anything else/);
    // nothing wider than the screen, and the controls are large enough to touch
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    const mic = (await page.locator('#mic').boundingBox())!;
    expect(mic.width).toBeGreaterThanOrEqual(44);
    expect(mic.x + mic.width).toBeLessThanOrEqual(390);
    await shot(page, 'chat-phone');
    await page.locator('#tab-tasks').click();
    await page.locator('#tasks-body tr').first().waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot(page, 'tasks-phone');
  });
});
