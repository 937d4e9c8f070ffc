/**
 * What the browse model can do with its page: open a URL and read its readable text, list and follow
 * links, fill a form (and submit it), take a screenshot, and search. Each tool answers in text for the
 * model (an observation); a limit or a refused URL is such an answer too, and is also kept as a note for
 * the task's result.
 *
 * The readable text comes from Mozilla Readability run inside the page itself (its source is evaluated
 * there, so no DOM library runs in Node); a page it cannot read (too short, not an article) gives its
 * body's text instead.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { z } from 'zod';
import type { ToolDefinition } from '../providers/types.js';
import { checkUrl, type UrlPolicy } from './policy.js';
import { searxngSearch } from './search.js';
import type { TreePage } from './session.js';

/** Characters of page text one observation carries. */
export const MAX_TEXT_CHARS = 6000;
const MAX_LINKS = 60;

export interface ToolState {
  tp: TreePage;
  policy: UrlPolicy;
  maxPages: number;
  pageTimeoutMs: number;
  /** Pages this task has opened (navigations it asked for). */
  pages: number;
  searxngUrl?: string;
  /** Where screenshots go (the tree's directory). */
  dir: string;
  filePrefix: string;
  files: { name: string; path: string }[];
  notes: string[];
  links: { text: string; url: string }[];
  /** A page is loaded and may be read (false before the first and after one that failed). */
  open?: boolean;
  signal?: AbortSignal;
}

const schemas = {
  search: z.object({ query: z.string().min(1).describe('what to search the web for') }),
  open_url: z.object({ url: z.string().min(1).describe('an http or https URL') }),
  list_links: z.object({
    contains: z.string().optional().describe('only links whose text or URL contains this (any case)'),
  }),
  follow_link: z.object({ number: z.number().int().min(1).describe('the link number from list_links') }),
  fill_form: z.object({
    fields: z
      .array(
        z.object({
          field: z.string().describe("the field's name, id, label or placeholder"),
          value: z.string().describe('the text to enter; for a checkbox "true" or "false"'),
        }),
      )
      .min(1),
    submit: z.boolean().describe('submit the form afterwards (only when the task asks for it)'),
  }),
  screenshot: z.object({
    full_page: z.boolean().optional().describe('the whole page instead of the visible part'),
  }),
  finish: z.object({ answer: z.string().min(1).describe('the answer to the task, with the URLs used') }),
};
export type BrowseToolName = keyof typeof schemas;

const descriptions: Record<BrowseToolName, string> = {
  search: 'Search the web; answers titles, URLs and snippets.',
  open_url: "Open a web page; answers its title, URL and readable text (the article's text when it has one).",
  list_links: 'List the links of the current page, numbered.',
  follow_link: 'Open a link of the current page by its number from list_links.',
  fill_form: 'Fill fields of a form on the current page, and submit it only if the task asks for that.',
  screenshot: 'Save a screenshot of the current page as a file for the user.',
  finish: 'End the task with the answer.',
};

export const browseToolDefinitions: ToolDefinition[] = (Object.keys(schemas) as BrowseToolName[]).map(
  (name) => ({
    name,
    description: descriptions[name],
    parameters: z.toJSONSchema(schemas[name], { io: 'input' }) as Record<string, unknown>,
  }),
);

export function parseBrowseCall(name: string, raw: string): { args: unknown } | { error: string } {
  if (!(name in schemas))
    return { error: `unknown tool "${name}"; the tools are ${Object.keys(schemas).join(', ')}` };
  let json: unknown;
  try {
    json = JSON.parse(raw.trim() === '' ? '{}' : raw);
  } catch (err) {
    return { error: `the arguments of ${name} are not valid JSON (${(err as Error).message})` };
  }
  const parsed = schemas[name as BrowseToolName].safeParse(json);
  if (!parsed.success)
    return {
      error: `invalid arguments for ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ')}`,
    };
  return { args: parsed.data };
}

/** A short description of a call for the progress line. */
export function activityOf(name: string, args: unknown): string {
  const a = (args ?? {}) as Record<string, unknown>;
  const clip = (v: unknown) => String(v).slice(0, 80);
  switch (name) {
    case 'search':
      return `searching: ${clip(a.query)}`;
    case 'open_url':
      return `opening ${clip(a.url)}`;
    case 'follow_link':
      return `following link ${clip(a.number)}`;
    case 'list_links':
      return 'listing links';
    case 'fill_form':
      return a.submit ? 'filling and submitting a form' : 'filling a form';
    case 'screenshot':
      return 'taking a screenshot';
    default:
      return name;
  }
}

/** A limit or a refusal: told to the model and kept for the result's notes. */
function refuse(state: ToolState, message: string): string {
  if (!state.notes.includes(message)) state.notes.push(message);
  return message;
}

export async function runBrowseTool(name: BrowseToolName, args: unknown, state: ToolState): Promise<string> {
  switch (name) {
    case 'search':
      return search((args as z.infer<typeof schemas.search>).query, state);
    case 'open_url':
      return navigate(state, (args as z.infer<typeof schemas.open_url>).url);
    case 'list_links':
      return listLinks(state, (args as z.infer<typeof schemas.list_links>).contains);
    case 'follow_link': {
      const n = (args as z.infer<typeof schemas.follow_link>).number;
      if (state.links.length === 0) await collectLinks(state);
      const link = state.links[n - 1];
      if (!link) return `there is no link number ${n}; list_links shows ${state.links.length} links`;
      return navigate(state, link.url);
    }
    case 'fill_form':
      return fillForm(state, args as z.infer<typeof schemas.fill_form>);
    case 'screenshot':
      return screenshot(state, (args as z.infer<typeof schemas.screenshot>).full_page ?? false);
    case 'finish':
      return '';
  }
}

async function search(query: string, state: ToolState): Promise<string> {
  if (!state.searxngUrl)
    return refuse(
      state,
      'Search is not configured here (JUNE_SEARXNG_URL is not set): I can only open the URLs I was given.',
    );
  try {
    const hits = await searxngSearch(state.searxngUrl, query, {
      timeoutMs: state.pageTimeoutMs,
      ...(state.signal ? { signal: state.signal } : {}),
    });
    if (hits.length === 0) return `no results for "${query}"`;
    return hits
      .map((h, i) => `${i + 1}. ${h.title}\n   ${h.url}\n   ${h.content.replace(/\s+/g, ' ').slice(0, 300)}`)
      .join('\n');
  } catch (err) {
    if (state.signal?.aborted) throw err;
    return refuse(state, `Search failed: ${(err as Error).message}.`);
  }
}

/** Opens `url` as one of the task's pages, within the limits; answers the page's text or why not. */
async function navigate(state: ToolState, url: string): Promise<string> {
  const verdict = checkUrl(url, state.policy);
  if (!verdict.ok) return refuse(state, `I did not open ${url.slice(0, 200)}: ${verdict.reason}.`);
  if (state.pages >= state.maxPages)
    return refuse(
      state,
      `I did not open ${url.slice(0, 200)}: this task may open at most ${state.maxPages} pages (JUNE_BROWSE_MAX_PAGES).`,
    );
  state.pages++;
  const { guard } = state.tp;
  const before = guard.blocked.length;
  guard.redirect = undefined;
  try {
    await go(state, verdict.url.href);
  } catch (err) {
    const why = guard.blocked.slice(before).at(-1)?.reason ?? loadError(err, state.pageTimeoutMs);
    state.open = false;
    state.links = [];
    return refuse(state, `I could not open ${url.slice(0, 200)}: ${why}.`);
  }
  const redirected = await followRedirects(state);
  if (redirected) return refuse(state, `I could not open ${url.slice(0, 200)}: ${redirected}.`);
  return readPage(state, before);
}

/**
 * A navigation of the task's page. Chromium commits the error page of a failed navigation a little after
 * Playwright reports the failure, and that commit can interrupt the next navigation: it is tried again
 * (three times at most) once the page has settled.
 */
async function go(state: ToolState, url: string): Promise<void> {
  const { page } = state.tp;
  const options = { waitUntil: 'domcontentloaded' as const, timeout: state.pageTimeoutMs };
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(url, options);
      return;
    } catch (err) {
      if (attempt >= 3 || !/is interrupted by another navigation/.test((err as Error).message ?? ''))
        throw err;
      // let the navigation that came in between finish first
      await page.waitForLoadState('domcontentloaded', { timeout: 5000 }).catch(() => undefined);
    }
  }
}

const MAX_REDIRECTS = 5;

/**
 * Follows the main document's redirects as navigations of their own (see PageGuard.redirect); answers why
 * it stopped short, or undefined once a page has loaded.
 */
async function followRedirects(state: ToolState): Promise<string | undefined> {
  const { guard } = state.tp;
  for (let hops = 0; guard.redirect !== undefined; hops++) {
    const target = guard.redirect;
    guard.redirect = undefined;
    if (hops >= MAX_REDIRECTS) return `it redirected more than ${MAX_REDIRECTS} times`;
    const before = guard.blocked.length;
    try {
      await go(state, target);
    } catch (err) {
      const why = guard.blocked.slice(before).at(-1)?.reason ?? loadError(err, state.pageTimeoutMs);
      state.open = false;
      state.links = [];
      return `it redirected to ${target.slice(0, 200)}, which failed: ${why}`;
    }
  }
  return undefined;
}

function loadError(err: unknown, timeoutMs: number): string {
  const message = (err as Error).message ?? String(err);
  if (/Timeout .*exceeded/i.test(message))
    return `the page did not load within ${timeoutMs / 1000} s (JUNE_BROWSE_PAGE_TIMEOUT_MS)`;
  return message.split('\n')[0]?.replace(/^page\.goto: /, '') ?? 'it failed to load';
}

/** A page limit hit while a tool ran: the loop tells the model and keeps it in the notes. */
export class PageLimitError extends Error {}

/**
 * `what`, or an error once the page time limit has passed: page scripts that never yield (a busy loop)
 * would otherwise hold an evaluation, and the task, for ever.
 */
async function bounded<T>(state: ToolState, what: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PageLimitError(
            `the page's scripts kept it busy for ${state.pageTimeoutMs / 1000} s (JUNE_BROWSE_PAGE_TIMEOUT_MS)`,
          ),
        ),
      state.pageTimeoutMs,
    );
  });
  what.catch(() => undefined);
  try {
    return await Promise.race([what, limit]);
  } finally {
    clearTimeout(timer);
  }
}

let readabilitySource: string | undefined;
function readability(): string {
  if (readabilitySource === undefined) {
    const require = createRequire(import.meta.url);
    const file = path.join(path.dirname(require.resolve('@mozilla/readability')), 'Readability.js');
    readabilitySource = fs.readFileSync(file, 'utf8');
  }
  return readabilitySource;
}

/** The script evaluated in the page: Readability's article text with paragraph breaks, or body text. */
function extractScript(): string {
  return `(() => {
${readability()}
;
const tidy = (s) => s.replace(/[ \\t\\u00a0]+/g, ' ').replace(/\\s*\\n\\s*/g, '\\n').replace(/\\n{2,}/g, '\\n').trim();
try {
  const article = new Readability(document.cloneNode(true), { charThreshold: 200 }).parse();
  if (article && article.content) {
    const div = document.createElement('div');
    div.innerHTML = article.content;
    div.querySelectorAll('p,h1,h2,h3,h4,h5,h6,li,br,div,tr,pre,blockquote,figcaption').forEach((e) => e.after('\\n'));
    const text = tidy(div.textContent || '');
    if (text.length > 0) return { title: article.title || document.title, text, readable: true };
  }
} catch (e) {}
return { title: document.title, text: tidy(document.body ? document.body.innerText : ''), readable: false };
})()`;
}

async function readPage(state: ToolState, blockedBefore: number): Promise<string> {
  const { page, guard } = state.tp;
  const url = page.url();
  const here = checkUrl(url, state.policy);
  if (!here.ok) {
    state.open = false;
    state.links = [];
    return refuse(state, `The page went to a place I may not read: ${here.reason}.`);
  }
  state.open = true;
  const extracted = (await bounded(state, page.evaluate(extractScript()))) as {
    title: string;
    text: string;
    readable: boolean;
  };
  await collectLinks(state);
  const refused = guard.blocked.slice(blockedBefore);
  const lines = [`Title: ${extracted.title || '(none)'}`, `URL: ${url}`, ''];
  const text = extracted.text || '(the page has no text)';
  lines.push(text.length > MAX_TEXT_CHARS ? `${text.slice(0, MAX_TEXT_CHARS)}\n[… text cut here]` : text);
  lines.push('', `The page has ${state.links.length} links (list_links shows them).`);
  for (const r of refused.slice(-3)) {
    const message = `The page tried to load ${r.url.slice(0, 120)}, refused: ${r.reason}.`;
    if (!state.notes.includes(message)) state.notes.push(message);
    lines.push(message);
  }
  return lines.join('\n');
}

async function collectLinks(state: ToolState): Promise<void> {
  if (!state.open) {
    state.links = [];
    return;
  }
  const all = await bounded(
    state,
    state.tp.page.$$eval('a[href]', (as) =>
      as.map((a) => ({
        text: (
          (a as unknown as { innerText: string }).innerText ||
          a.getAttribute('aria-label') ||
          a.getAttribute('title') ||
          ''
        )
          .replace(/\s+/g, ' ')
          .trim()
          .slice(0, 100),
        url: (a as unknown as { href: string }).href,
      })),
    ),
  ).catch(() => [] as { text: string; url: string }[]);
  const seen = new Set<string>();
  state.links = all
    .filter((l) => /^https?:/i.test(l.url) && !seen.has(l.url) && seen.add(l.url))
    .slice(0, MAX_LINKS);
}

async function listLinks(state: ToolState, contains?: string): Promise<string> {
  await collectLinks(state);
  if (state.links.length === 0) return 'the current page has no links (open a page first)';
  const needle = contains?.toLowerCase();
  const shown = state.links
    .map((l, i) => ({ ...l, n: i + 1 }))
    .filter((l) => !needle || l.text.toLowerCase().includes(needle) || l.url.toLowerCase().includes(needle));
  if (shown.length === 0) return `no link contains "${contains}"`;
  return shown.map((l) => `${l.n}. ${l.text || '(no text)'} → ${l.url}`).join('\n');
}

async function locateField(page: Page, field: string) {
  const quoted = JSON.stringify(field);
  const candidates = [
    page.locator(`[name=${quoted}]`),
    page.locator(`[id=${quoted}]`),
    page.getByLabel(field),
    page.getByPlaceholder(field),
  ];
  for (const c of candidates) if ((await c.count()) > 0) return c.first();
  return undefined;
}

async function fillForm(state: ToolState, args: z.infer<typeof schemas.fill_form>): Promise<string> {
  const { page, guard } = state.tp;
  if (!state.open) return 'there is no page open: open the page with the form first';
  const done: string[] = [];
  let last: Awaited<ReturnType<typeof locateField>>;
  for (const { field, value } of args.fields) {
    const el = await locateField(page, field);
    if (!el) return `no field "${field}" on this page${done.length ? ` (filled: ${done.join(', ')})` : ''}`;
    const kind = await bounded(
      state,
      el.evaluate((e) => `${e.tagName.toLowerCase()}:${(e as unknown as { type?: string }).type ?? ''}`),
    );
    if (kind.startsWith('select'))
      await el.selectOption({ label: value }).catch(() => el.selectOption(value));
    else if (kind === 'input:checkbox' || kind === 'input:radio') {
      if (/^(true|on|yes|1)$/i.test(value)) await el.check();
      else await el.uncheck();
    } else await el.fill(value);
    done.push(field);
    last = el;
  }
  if (!args.submit || !last) return `filled ${done.join(', ')}; not submitted`;
  if (state.pages >= state.maxPages)
    return refuse(
      state,
      `I did not submit the form: this task may open at most ${state.maxPages} pages (JUNE_BROWSE_MAX_PAGES).`,
    );
  state.pages++;
  const before = guard.blocked.length;
  guard.redirect = undefined;
  const navigated = page
    .waitForEvent('framenavigated', {
      predicate: (f) => f === page.mainFrame(),
      timeout: Math.min(state.pageTimeoutMs, 10_000),
    })
    .then(() => true)
    .catch(() => false);
  const submitted = await bounded(
    state,
    last.evaluate((e) => {
      const form = (e as unknown as { form: { requestSubmit(): void } | null }).form;
      if (!form) return false;
      form.requestSubmit();
      return true;
    }),
  );
  if (!submitted) return `filled ${done.join(', ')}, but the field is not in a form that can be submitted`;
  if (await navigated) {
    try {
      await page.waitForLoadState('domcontentloaded', { timeout: state.pageTimeoutMs });
    } catch (err) {
      return refuse(state, `The form's answer did not load: ${loadError(err, state.pageTimeoutMs)}.`);
    }
    const redirected = await followRedirects(state);
    if (redirected) return refuse(state, `The form's answer could not be opened: ${redirected}.`);
  }
  if (/^chrome-error:/.test(page.url())) {
    const why = guard.blocked.slice(before).at(-1)?.reason ?? 'it failed to load';
    state.open = false;
    state.links = [];
    return refuse(state, `The form's answer could not be opened: ${why}.`);
  }
  return `Submitted the form (${done.join(', ')}).\n${await readPage(state, before)}`;
}

async function screenshot(state: ToolState, fullPage: boolean): Promise<string> {
  const { page } = state.tp;
  if (!state.open) return 'there is no page open to take a screenshot of';
  fs.mkdirSync(state.dir, { recursive: true });
  const name = `${state.filePrefix}-${state.files.length + 1}.png`;
  const file = path.join(state.dir, name);
  await page.screenshot({ path: file, fullPage, timeout: state.pageTimeoutMs });
  state.files.push({ name, path: file });
  return `saved the screenshot of ${page.url()} as ${name}; it goes to the user with the answer`;
}
