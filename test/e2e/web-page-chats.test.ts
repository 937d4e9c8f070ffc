/**
 * The web page's chats in a real Chromium (Debian's /usr/bin/chromium, driven by playwright-core) against a
 * real June with the fake OpenAI-compatible server as the LLM: the history after a reload, new chats named
 * by their first message, renaming kept as typed, deleting; answers rendered as Markdown with a script
 * injection attempt that must stay inert; a failed answer retried; June unreachable and back (the browser's
 * own network refused, the server untouched); and axe-core finding no serious accessibility violation.
 * Screenshots at desktop and phone widths go to test-results/screenshots/.
 */
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarios, streamOf } from '../helpers/fake-openai-scenarios.js';
import { spokenVoiceNote } from '../helpers/speech-fixtures.js';
import { startJune, waitForTask, type RunningJune } from './web-harness.js';

const TOKEN = 'chats-page-token-aaaaaaaaaaaa';
const ADMIN = 'chats-page-admin-bbbbbbbbbbbb';
const SHOTS = path.resolve('test-results/screenshots');
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

let june: RunningJune;
let browser: Browser;

beforeAll(async () => {
  june = await startJune({ apiTokens: [TOKEN, `admin:${ADMIN}`] });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await june?.stop();
});

async function newPage(
  viewport: { width: number; height: number },
  colorScheme: 'light' | 'dark' = 'light',
  token = TOKEN,
): Promise<Page> {
  const context = await browser.newContext({
    viewport,
    colorScheme,
    deviceScaleFactor: viewport.width < 600 ? 2 : 1,
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: june.base });
  await context.addInitScript({ content: `localStorage.setItem('june.token', ${JSON.stringify(token)})` });
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

const lastTurn = (page: Page) => {
  const turn = page.locator('#turns > li').last();
  return { turn, user: turn.locator('.bubble.user'), answer: turn.locator('.answer') };
};

async function say(page: Page, text: string) {
  await page.locator('#message').fill(text);
  await page.locator('#message').press('Enter');
}

const chosenTitle = (page: Page) => page.locator('#conversation option:checked').textContent();

describe('web page chats', () => {
  it('keeps the history across a reload, names, renames and deletes chats', async () => {
    const page = await newPage(DESKTOP);
    await say(page, 'remember that my cat is called Miso');
    await expect.poll(() => lastTurn(page).answer.textContent(), { timeout: 20_000 }).toMatch(/Miso/);
    // after the first answer the model titles the chat (the fake model answers with the first words)
    await expect.poll(() => chosenTitle(page), { timeout: 20_000 }).toBe('Remember that my cat is');

    await page.reload();
    await page.locator('body[data-ready="true"]').waitFor();
    await page.locator('#turns[data-loaded]').waitFor();
    expect(await page.locator('#turns > li').count()).toBe(1);
    expect(await lastTurn(page).user.textContent()).toBe('remember that my cat is called Miso');
    expect(await lastTurn(page).answer.textContent()).toMatch(/^You said: remember that my cat/);
    expect(await lastTurn(page).turn.locator('.timings dt').allTextContents()).toEqual(['LLM']);
    const first = await page.locator('#conversation').inputValue();

    // a new chat starts empty, on the server too, and is named by its first message
    await page.locator('#new-conversation').click();
    await expect.poll(() => page.locator('#conversation').inputValue()).not.toBe(first);
    await expect.poll(() => page.locator('#turns > li').count()).toBe(0);
    expect(await page.locator('#chat-empty').isVisible()).toBe(true);
    expect(await page.locator('#june-state').textContent()).toBe('June is ready.');
    expect(await page.locator('#chat-empty .example').count()).toBe(3);
    await say(page, 'plan a picnic');
    await expect.poll(() => lastTurn(page).answer.textContent(), { timeout: 20_000 }).toMatch(/picnic/);
    await expect.poll(() => chosenTitle(page), { timeout: 20_000 }).toBe('Plan a picnic');
    const titleRequest = (r: { body?: { messages?: Array<{ role: string; content: unknown }> } }) =>
      r.body?.messages?.some((m) => m.role === 'system' && /short title/.test(String(m.content)));
    const sent = june.llm
      .chatRequests()
      .filter((r) => !titleRequest(r))
      .at(-1)!
      .body!.messages!.map((m) => m.content);
    // the title request carries the first message only, no history
    const asked = june.llm.chatRequests().filter(titleRequest).at(-1)!.body!.messages!;
    expect(asked.map((m) => m.role)).toEqual(['system', 'user']);
    expect(asked[1]!.content).toBe('plan a picnic');
    expect(sent.join(' ')).not.toContain('Miso');

    // renamed exactly as typed
    await page.locator('#rename-conversation').click();
    await page.locator('#rename-input').fill('my work notes!');
    await page.locator('#rename-dialog button[value=save]').click();
    await expect.poll(() => chosenTitle(page)).toBe('my work notes!');
    await page.reload();
    await page.locator('body[data-ready="true"]').waitFor();
    expect(await chosenTitle(page)).toBe('my work notes!');
    await shot(page, 'chats-desktop');

    // the first chat is still there; choosing it shows its history
    await page.locator('#conversation').selectOption(first);
    await expect.poll(() => lastTurn(page).user.textContent()).toBe('remember that my cat is called Miso');

    // deleting asks first, then the chat is gone from the page and the server
    await page.locator('#conversation').selectOption({ label: 'my work notes!' });
    await page.locator('#delete-conversation').click();
    await expect.poll(() => page.locator('#delete-name').textContent()).toBe('my work notes!');
    await page.locator('#delete-dialog button[value=delete]').click();
    await expect
      .poll(() => page.locator('#conversation option').allTextContents())
      .not.toContain('my work notes!');
    const listed = (await (
      await fetch(`${june.base}/v1/conversations`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as { conversations: Array<{ title: string }> };
    expect(listed.conversations.map((c) => c.title)).not.toContain('my work notes!');
  }, 120_000);

  it("a model's title never replaces one the user gave first", async () => {
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const post = async (url: string, body: unknown = {}) =>
      (await (
        await fetch(`${june.base}${url}`, { method: 'POST', headers: auth, body: JSON.stringify(body) })
      ).json()) as Record<string, unknown>;
    const made = await post('/v1/conversations');
    const name = String(made.conversation);
    const sent = await post('/v1/messages', { text: 'how do tides work', conversation: name });
    await waitForTask(june.base, String(sent.taskId), auth);
    await post(`/v1/conversations/${name}/rename`, { title: 'my tides, my way!' });
    const kept = await post(`/v1/conversations/${name}/title`);
    expect(kept.title).toBe('my tides, my way!');
    // an untitled one gets the model's title
    const other = String((await post('/v1/conversations')).conversation);
    const second = await post('/v1/messages', { text: 'why is the sky blue', conversation: other });
    await waitForTask(june.base, String(second.taskId), auth);
    const titled = await post(`/v1/conversations/${other}/title`);
    expect(titled).toMatchObject({ title: 'Why is the sky blue', titled: true });
  }, 60_000);

  it('renders Markdown safely on a phone, with a working copy button', async () => {
    const page = await newPage(PHONE);
    await page.locator('#new-conversation').click();
    await expect.poll(() => page.locator('#turns > li').count()).toBe(0);
    june.llm.enqueue(
      streamOf(
        [
          'Here is **the plan**:\n\n- first\n- second\n\n',
          '```sh\necho "hi <b>there</b>"\n```\n\n',
          'See [the docs](https://example.org/docs) or [this](javascript:window.__pwned=1). ',
          '<script>window.__pwned=2</script><img src=x onerror="window.__pwned=3">',
          '<a href="#" onclick="window.__pwned=4">click</a> <iframe src="/"></iframe>',
        ].map((content) => ({ content })),
      ),
    );
    await say(page, 'show me some markdown');
    const answer = lastTurn(page).answer;
    await expect.poll(() => answer.locator('strong').textContent(), { timeout: 20_000 }).toBe('the plan');
    await expect.poll(() => answer.locator('li').allTextContents()).toEqual(['first', 'second']);
    expect(await answer.locator('pre code').textContent()).toBe('echo "hi <b>there</b>"\n');
    const docs = answer.locator('a', { hasText: 'the docs' });
    expect(await docs.getAttribute('href')).toBe('https://example.org/docs');
    expect(await docs.getAttribute('rel')).toBe('noopener noreferrer');
    // nothing the model wrote runs or loads
    expect(await answer.locator('script, img, iframe, [onclick], [onerror]').count()).toBe(0);
    expect(await answer.locator('a[href^="javascript:"]').count()).toBe(0);
    await answer.locator('a', { hasText: 'click' }).click();
    expect(await page.evaluate('window.__pwned')).toBeUndefined();

    await answer.locator('.copy').click();
    await expect.poll(() => answer.locator('.copy').textContent()).toBe('Copied');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe('echo "hi <b>there</b>"\n');
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
      PHONE.width,
    );
    await shot(page, 'markdown-phone');
  }, 60_000);

  it('says plainly what failed, and Retry sends the message again', async () => {
    const page = await newPage(DESKTOP);
    await page.locator('#new-conversation').click();
    await expect.poll(() => page.locator('#turns > li').count()).toBe(0);
    june.llm.enqueue(scenarios.contextLengthError());
    await say(page, 'this one fails first');
    const error = lastTurn(page).turn.locator('.error');
    await expect.poll(() => error.textContent(), { timeout: 20_000 }).toMatch(/too long/);
    expect(await error.textContent()).not.toMatch(/llm_|_/);
    await lastTurn(page).turn.getByRole('button', { name: 'Retry' }).click();
    await expect
      .poll(() => lastTurn(page).answer.textContent(), { timeout: 20_000 })
      .toMatch(/^You said: this one fails first/);
    expect(await error.count()).toBe(0);
    expect(await page.locator('#turns > li').count()).toBe(1);
  }, 60_000);

  it('follows a failed answer on after a redrive from the tasks view, in the same bubble', async () => {
    const page = await newPage(DESKTOP, 'light', ADMIN);
    await page.locator('#new-conversation').click();
    await expect.poll(() => page.locator('#turns > li').count()).toBe(0);
    june.llm.enqueue(scenarios.contextLengthError());
    await say(page, 'this one is redriven');
    const error = lastTurn(page).turn.locator('.error');
    await expect.poll(() => error.textContent(), { timeout: 20_000 }).toMatch(/too long/);
    const taskId = (await lastTurn(page).turn.getAttribute('data-task-id'))!;

    await page.locator('#tab-tasks').click();
    await page.getByRole('button', { name: `Redrive task ${taskId}` }).click();
    await page.locator('#tab-chat').click();
    await expect
      .poll(() => lastTurn(page).answer.textContent(), { timeout: 20_000 })
      .toMatch(/^You said: this one is redriven/);
    expect(await error.count()).toBe(0);
    expect(await lastTurn(page).turn.getAttribute('data-task-id')).toBe(taskId);
    expect(await page.locator('#turns > li').count()).toBe(1);
  }, 60_000);

  it("keeps a message while June can't be reached and sends it when June is back", async () => {
    const page = await newPage(DESKTOP);
    await page.locator('#new-conversation').click();
    await expect.poll(() => page.locator('#turns > li').count()).toBe(0);
    // the browser cannot reach the server: its requests are refused before they leave
    const refuse = (route: { abort(code: string): Promise<void> }) => route.abort('connectionrefused');
    await page.route('**/v1/messages', refuse);
    await page.route('**/health', refuse);
    await say(page, 'are you there');
    const error = lastTurn(page).turn.locator('.error');
    await expect.poll(() => error.textContent(), { timeout: 20_000 }).toMatch(/^Can't reach June/);
    expect(await lastTurn(page).user.textContent()).toBe('are you there');
    await shot(page, 'unreachable-desktop');

    await page.unroute('**/v1/messages', refuse);
    await page.unroute('**/health', refuse);
    await expect
      .poll(() => lastTurn(page).answer.textContent(), { timeout: 30_000 })
      .toMatch(/^You said: are you there/);
    expect(await error.count()).toBe(0);
    expect(await page.locator('#turns > li').count()).toBe(1);
  }, 60_000);

  it('tasks view: dead letters first with Redrive all, and what a voice message said', async () => {
    const auth = { authorization: `Bearer ${ADMIN}` };
    const post = async (form: FormData) =>
      (
        (await (
          await fetch(`${june.base}/v1/messages`, { method: 'POST', headers: auth, body: form })
        ).json()) as {
          taskId: string;
        }
      ).taskId;
    const junkForm = () => {
      const form = new FormData();
      form.set('audio', new Blob([new Uint8Array(4096).map((_, i) => (i * 7919) % 256)]), 'junk.ogg');
      return form;
    };
    // more completed tasks than the view keeps unfolded (sent first: the voice task is among the latest)
    const texts: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${june.base}/v1/messages`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ text: `filler ${i}` }),
      });
      texts.push(((await res.json()) as { taskId: string }).taskId);
    }
    const dead = [await post(junkForm()), await post(junkForm())];
    const voiceForm = new FormData();
    const note = await spokenVoiceNote(june.dir, 'what is the weather like in paris today');
    voiceForm.set('audio', new Blob([new Uint8Array(note)], { type: 'audio/ogg' }), 'note.ogg');
    const voice = await post(voiceForm);
    for (const id of [...dead, voice, ...texts]) await waitForTask(june.base, id, auth, 60_000);

    const page = await newPage(DESKTOP, 'light', ADMIN);
    await page.locator('#tab-tasks').click();
    const voiceRow = page.locator(`#tasks-body tr[data-task-id="${voice}"]`);
    await expect
      .poll(() => voiceRow.locator('.what').textContent(), { timeout: 10_000 })
      .toMatch(/^Voice: “.*weather/);
    for (const id of dead) await page.locator('#dead li', { hasText: id }).waitFor();
    // the dead letters come before the task table
    const deadFirst = await page.evaluate(
      `!!(document.getElementById('dead').compareDocumentPosition(document.getElementById('tasks-table')) & 4)`,
    );
    expect(deadFirst).toBe(true);
    // completed tasks beyond the latest five fold away; the dead ones stay in view
    const more = page.locator('#more-completed');
    await expect.poll(() => more.textContent()).toMatch(/^Show \d+ more completed$/);
    expect(await page.locator('#tasks-body tr[data-state="completed"]').count()).toBe(5);
    expect(await page.locator('#tasks-body tr[data-state="dead"]').count()).toBeGreaterThanOrEqual(2);
    await shot(page, 'tasks-admin-desktop');
    await more.click();
    expect(await more.getAttribute('aria-expanded')).toBe('true');
    await expect
      .poll(() => page.locator('#tasks-body tr[data-state="completed"]').count())
      .toBeGreaterThan(5);
    await more.click();
    await page.getByRole('button', { name: 'Redrive all' }).click();
    for (const id of dead)
      await expect
        .poll(
          async () =>
            (
              (await (await fetch(`${june.base}/v1/tasks/${id}`, { headers: auth })).json()) as {
                attemptLog: unknown[];
              }
            ).attemptLog.length,
          { timeout: 20_000 },
        )
        .toBe(2);
  }, 120_000);

  it('keeps the newest answer in view above the composer on a phone', async () => {
    const page = await newPage(PHONE);
    await page.locator('#new-conversation').click();
    await expect.poll(() => page.locator('#turns > li').count()).toBe(0);
    for (let i = 1; i <= 5; i++) {
      await say(page, `message number ${i} with enough words to take a few lines on a phone screen`);
      await expect
        .poll(() => lastTurn(page).answer.textContent(), { timeout: 20_000 })
        .toMatch(new RegExp(`^You said: message number ${i} `));
    }
    const composer = (await page.locator('#composer').boundingBox())!;
    await expect
      .poll(async () => {
        const answer = (await lastTurn(page).turn.locator('.bubble.june').boundingBox())!;
        return answer.y + answer.height <= composer.y + 1 && answer.y >= 0;
      })
      .toBe(true);
    await shot(page, 'scrolled-phone');
  }, 90_000);

  it('has no serious accessibility violations (axe-core) in either view', async () => {
    const axeSource = await fs.readFile(
      createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
      'utf8',
    );
    // a completed task and a dead one, so the tasks view shows both kinds of badge
    const auth = { authorization: `Bearer ${TOKEN}` };
    const text = await fetch(`${june.base}/v1/messages`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'a task for the tasks view' }),
    });
    const form = new FormData();
    form.set('audio', new Blob([new Uint8Array(4096).map((_, i) => (i * 7919) % 256)]), 'junk.ogg');
    const junk = await fetch(`${june.base}/v1/messages`, { method: 'POST', headers: auth, body: form });
    for (const res of [text, junk])
      await waitForTask(june.base, ((await res.json()) as { taskId: string }).taskId, auth);

    for (const [viewport, scheme] of [
      [DESKTOP, 'light'],
      [PHONE, 'dark'],
    ] as const) {
      const page = await newPage(viewport, scheme);
      await page.locator('#turns[data-loaded]').waitFor();
      // evaluated through the debugging protocol, which the page's content security policy does not block
      await page.evaluate(axeSource);
      const run = async () =>
        page.evaluate<Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>>(
          `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => ({ target: n.target })) })))`,
        );
      const serious = (await run()).filter((v) => v.impact === 'serious' || v.impact === 'critical');
      expect(serious, JSON.stringify(serious)).toEqual([]);
      await page.locator('#tab-tasks').click();
      await page.locator('#tasks-live').filter({ hasText: 'live' }).waitFor();
      await page.locator('#tasks-body .state-dead').first().waitFor();
      await shot(page, `tasks-${scheme}-${viewport.width}`);
      const inTasks = (await run()).filter((v) => v.impact === 'serious' || v.impact === 'critical');
      expect(inTasks, JSON.stringify(inTasks)).toEqual([]);
      await page.context().close();
    }
  }, 90_000);
});
