/**
 * Chromium for the browse capability: one browser process, launched on first use (playwright-core is
 * imported then), and one isolated browser context per task tree — cookies, storage and cache are the
 * tree's own and end with it. A tree's context is closed when its root task settles or is cancelled
 * (`closeTree`), after a while without work, or at shutdown (`closeAll`); the browser process ends when
 * its last context closes, so an idle worker keeps no Chromium running.
 *
 * Every request of a tree's pages goes through `route`: the URL policy decides (policy.ts); a document
 * (a page or a frame) is fetched here, in Node, so its size and time are bounded while it streams; a
 * redirect's target is checked first, and the main document's redirect is then followed by the tools as a
 * new navigation (so the target is fetched here too), a frame's by Chromium; other requests continue in Chromium once their
 * URL is allowed. Downloads, service workers and WebSockets are refused. What was refused is recorded in
 * the page's guard for the tools to tell the model.
 */
import type { Browser, BrowserContext, Page, Request, Route } from 'playwright-core';
import type { Logger } from '../observability/logger.js';
import { checkUrl, type UrlPolicy } from './policy.js';

export interface BrowseLimits {
  pageTimeoutMs: number;
  maxPageBytes: number;
  policy: UrlPolicy;
}

/** What a page's requests were refused, newest last. */
export interface PageGuard {
  blocked: { url: string; reason: string }[];
  /**
   * Where the page's main document redirected to, not yet followed: the tools follow it with a new
   * navigation (`followRedirects`), so that the target is fetched here, within the limits, too.
   */
  redirect?: string;
}

export interface TreePage {
  page: Page;
  guard: PageGuard;
  /** Closes the page; the tree's context stays for the tree's next subtask. */
  release(): Promise<void>;
}

export interface BrowserPoolOptions {
  chromiumPath: string;
  limits: BrowseLimits;
  logger?: Logger;
  /** A context without a page open for this long is closed (default 10 min). */
  idleCloseMs?: number;
}

interface TreeEntry {
  context: BrowserContext;
  pages: number;
  idleTimer?: NodeJS.Timeout;
}

/** The tree's root has settled: its browser context is gone and none is made again. */
export class TreeClosedError extends Error {
  constructor(treeId: string) {
    super(`the task tree ${treeId} has ended; its browser is closed`);
  }
}

const HOP_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'accept-encoding',
]);
const KEEP_CLOSED = 1000;
/** A start that takes longer than this (a loaded machine) is given up and tried once more. */
const LAUNCH_TIMEOUT_MS = 60_000;
const CLOSE_PAGE_MS = 10_000;

export class BrowserPool {
  private browser: Browser | undefined;
  private readonly trees = new Map<string, TreeEntry>();
  private readonly ended = new Set<string>();
  private readonly guards = new WeakMap<Page, PageGuard>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: BrowserPoolOptions) {}

  /** Trees with an open context (for tests and status). */
  openTrees(): string[] {
    return [...this.trees.keys()];
  }

  /** Runs `fn` after every earlier launch/open/close has finished, so they never interleave. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** A new page in the tree's context (made, with the browser, when the tree has none). */
  openPage(treeId: string): Promise<TreePage> {
    return this.serial(async () => {
      if (this.ended.has(treeId)) throw new TreeClosedError(treeId);
      let entry = this.trees.get(treeId);
      if (!entry) {
        const context = await this.newContext();
        entry = { context, pages: 0 };
        this.trees.set(treeId, entry);
      }
      if (entry.idleTimer) clearTimeout(entry.idleTimer);
      entry.idleTimer = undefined;
      entry.pages++;
      const tree = entry;
      let page: Page;
      try {
        page = await tree.context.newPage();
      } catch (err) {
        tree.pages--;
        throw err;
      }
      const guard: PageGuard = { blocked: [] };
      this.guards.set(page, guard);
      page.setDefaultTimeout(this.options.limits.pageTimeoutMs);
      page.setDefaultNavigationTimeout(this.options.limits.pageTimeoutMs);
      // popups (target=_blank, window.open) are not followed: the model opens links itself
      page.on('popup', (p) => void p.close().catch(() => undefined));
      // navigations Chromium does not route (other schemes) are recorded, so the page is not read
      page.on('request', (r) => {
        const url = r.url();
        if (!/^(https?|data|blob|about):/i.test(url)) {
          const verdict = checkUrl(url, this.options.limits.policy);
          if (!verdict.ok) guard.blocked.push({ url, reason: verdict.reason });
        }
      });
      let released = false;
      return {
        page,
        guard,
        release: async () => {
          if (released) return;
          released = true;
          // a page whose renderer hangs must not hold the task: its context goes with the tree
          let timer: NodeJS.Timeout | undefined;
          const closed = await Promise.race([
            page.close().then(
              () => true,
              () => true,
            ),
            new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), CLOSE_PAGE_MS))),
          ]);
          clearTimeout(timer);
          if (!closed) this.options.logger?.warn({ treeId }, 'a browse page did not close in time');
          tree.pages--;
          if (tree.pages === 0 && this.trees.get(treeId) === tree) this.armIdle(treeId, tree);
        },
      };
    });
  }

  /**
   * Closes the tree's context (its root settled or was cancelled); later pages for it are refused. The
   * browser ends with its last context.
   */
  closeTree(treeId: string, reason: 'ended' | 'idle' = 'ended'): Promise<void> {
    return this.serial(async () => {
      if (reason === 'ended') {
        this.ended.add(treeId);
        if (this.ended.size > KEEP_CLOSED) this.ended.delete(this.ended.values().next().value as string);
      }
      const entry = this.trees.get(treeId);
      if (!entry) return;
      if (reason === 'idle' && entry.pages > 0) return;
      this.trees.delete(treeId);
      if (entry.idleTimer) clearTimeout(entry.idleTimer);
      await entry.context.close().catch(() => undefined);
      this.options.logger?.debug({ treeId, reason }, 'browse context closed');
      if (this.trees.size === 0) await this.closeBrowser();
    });
  }

  /** Closes every context and the browser (shutdown). */
  closeAll(): Promise<void> {
    return this.serial(async () => {
      const entries = [...this.trees.values()];
      this.trees.clear();
      for (const e of entries) {
        if (e.idleTimer) clearTimeout(e.idleTimer);
        await e.context.close().catch(() => undefined);
      }
      await this.closeBrowser();
    });
  }

  private armIdle(treeId: string, entry: TreeEntry): void {
    entry.idleTimer = setTimeout(
      () => void this.closeTree(treeId, 'idle').catch(() => undefined),
      this.options.idleCloseMs ?? 10 * 60_000,
    );
    entry.idleTimer.unref();
  }

  private async closeBrowser(): Promise<void> {
    const browser = this.browser;
    this.browser = undefined;
    if (browser) await browser.close().catch(() => undefined);
  }

  private async newContext(): Promise<BrowserContext> {
    if (!this.browser?.isConnected()) {
      const { chromium } = await import('playwright-core');
      const launch = (sandbox: boolean) =>
        chromium.launch({
          executablePath: this.options.chromiumPath,
          timeout: LAUNCH_TIMEOUT_MS,
          // Chromium's own sandbox, except as root, where Chromium refuses to start with it
          chromiumSandbox: sandbox,
          args: ['--headless', '--disable-gpu', '--disable-background-networking'],
        });
      const sandbox = process.getuid?.() !== 0;
      const browser = await launch(sandbox).catch((err: unknown) => {
        const first = (err as Error).message.split('\n')[0];
        if (sandbox)
          this.options.logger?.warn(
            { err: first },
            "Chromium's sandbox could not start (no user namespaces?): browsing without it",
          );
        else this.options.logger?.warn({ err: first }, 'Chromium did not start; trying once more');
        return launch(false);
      });
      browser.on('disconnected', () => {
        if (this.browser !== browser) return;
        this.browser = undefined;
        this.trees.clear();
      });
      this.browser = browser;
    }
    const context = await this.browser.newContext({
      acceptDownloads: false,
      serviceWorkers: 'block',
      viewport: { width: 1280, height: 900 },
    });
    await context.route('**/*', (route, request) => this.route(route, request, context));
    await context.routeWebSocket(/.*/, (ws) =>
      ws.close({ code: 1008, reason: 'WebSockets are not allowed' }),
    );
    return context;
  }

  private async route(route: Route, request: Request, context: BrowserContext): Promise<void> {
    const url = request.url();
    let guard: PageGuard | undefined;
    try {
      guard = this.guards.get(request.frame().page());
    } catch {
      guard = undefined; // a worker's request: no frame
    }
    const verdict = checkUrl(url, this.options.limits.policy);
    if (!verdict.ok) {
      guard?.blocked.push({ url, reason: verdict.reason });
      return route.abort('blockedbyclient').catch(() => undefined);
    }
    if (!guard) return route.abort('blockedbyclient').catch(() => undefined);
    const type = request.resourceType();
    if (type === 'media') return route.abort('blockedbyclient').catch(() => undefined);
    if (type !== 'document') return route.continue().catch(() => undefined);
    try {
      await this.fetchDocument(route, request, guard, context);
    } catch {
      // the page went away while its document loaded
      await route.abort('failed').catch(() => undefined);
    }
  }

  /** Fetches a document within the size and time limits and hands it to Chromium. */
  private async fetchDocument(
    route: Route,
    request: Request,
    guard: PageGuard,
    context: BrowserContext,
  ): Promise<void> {
    const { maxPageBytes, pageTimeoutMs, policy } = this.options.limits;
    const url = request.url();
    const headers: Record<string, string> = {};
    // the request's headers without its cookies (Chromium adds them later): those come from the context
    for (const [k, v] of Object.entries(request.headers()))
      if (!HOP_HEADERS.has(k.toLowerCase()) && !k.startsWith(':') && k.toLowerCase() !== 'cookie')
        headers[k] = v;
    const jar = await context.cookies(url);
    if (jar.length) headers.cookie = jar.map((c) => `${c.name}=${c.value}`).join('; ');
    const body = request.postDataBuffer();
    let res: Response;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), pageTimeoutMs);
    try {
      res = await fetch(url, {
        method: request.method(),
        headers,
        redirect: 'manual',
        signal: abort.signal,
        ...(body ? { body } : {}),
      });
    } catch (err) {
      clearTimeout(timer);
      const reason = abort.signal.aborted
        ? `the page did not load within ${pageTimeoutMs / 1000} s (JUNE_BROWSE_PAGE_TIMEOUT_MS)`
        : `the page could not be reached (${(err as Error).message})`;
      guard.blocked.push({ url, reason });
      return route.abort(abort.signal.aborted ? 'timedout' : 'failed');
    }
    const outHeaders: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      if (!HOP_HEADERS.has(k) && k !== 'content-encoding' && k !== 'set-cookie') outHeaders[k] = v;
    });
    const cookies = res.headers.getSetCookie();
    if (cookies.length) outHeaders['set-cookie'] = cookies.join('\n');
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      clearTimeout(timer);
      await res.body?.cancel().catch(() => undefined);
      const target = new URL(location, url).href;
      const verdict = checkUrl(target, policy);
      if (!verdict.ok) {
        guard.blocked.push({ url: target, reason: `a redirect was refused: ${verdict.reason}` });
        return route.abort('blockedbyclient');
      }
      if (request.frame().parentFrame() === null) {
        // the main document: a placeholder now, and the tool navigates to the target itself
        guard.redirect = target;
        return route.fulfill({
          status: 200,
          headers: {
            'content-type': 'text/html; charset=utf-8',
            ...(outHeaders['set-cookie'] ? { 'set-cookie': outHeaders['set-cookie'] } : {}),
          },
          body: `<!doctype html><title>Redirecting</title><p>Redirecting to ${target.replace(/[<&"]/g, '')}</p>`,
        });
      }
      outHeaders.location = target;
      return route.fulfill({ status: res.status, headers: outHeaders, body: '' });
    }
    const tooBig = `the page is larger than the limit of ${maxPageBytes} bytes (JUNE_BROWSE_MAX_PAGE_BYTES)`;
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > maxPageBytes) {
      clearTimeout(timer);
      await res.body?.cancel().catch(() => undefined);
      guard.blocked.push({ url, reason: tooBig });
      return route.abort('blockedbyclient');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    try {
      if (res.body)
        for await (const chunk of res.body) {
          size += chunk.byteLength;
          if (size > maxPageBytes) {
            tooLarge = true;
            abort.abort();
            break;
          }
          chunks.push(Buffer.from(chunk));
        }
    } catch {
      if (!tooLarge) {
        const reason = abort.signal.aborted
          ? `the page did not load within ${pageTimeoutMs / 1000} s (JUNE_BROWSE_PAGE_TIMEOUT_MS)`
          : 'the page stopped loading before its end';
        guard.blocked.push({ url, reason });
        return route.abort(abort.signal.aborted ? 'timedout' : 'failed');
      }
    } finally {
      clearTimeout(timer);
    }
    if (tooLarge) {
      guard.blocked.push({ url, reason: tooBig });
      return route.abort('blockedbyclient');
    }
    return route.fulfill({ status: res.status, headers: outHeaders, body: Buffer.concat(chunks) });
  }
}
