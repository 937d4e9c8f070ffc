/**
 * The browse capability end to end: real Chromium (Debian's /usr/bin/chromium through playwright-core)
 * against a real local web site, the model scripted by the fake OpenAI-compatible server (June's real
 * OpenAI provider, streamed native tool calls), and a real SQLite task queue for the tree's root.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countChildren } from '../../test/helpers/child-processes.js';
import { hermesCall, nativeCalls, textOnly } from '../../test/helpers/fake-agent-scripts.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../../test/helpers/fake-openai-server.js';
import {
  BEAVER_FACT,
  OTTER_FACT,
  startLocalWebSite,
  type LocalWebSite,
} from '../../test/helpers/local-web-site.js';
import { configSchema, type JuneConfigInput } from '../config/schema.js';
import { createLogger } from '../observability/logger.js';
import { OpenAiLanguageModel } from '../providers/llm/openai.js';
import { HandlerRegistry } from '../tasks/handlers.js';
import { startWorkers } from '../tasks/runtime.js';
import { openSqliteQueue, type SqliteTaskQueue } from '../tasks/sqlite/sqlite-queue.js';
import { browseMetrics } from './metrics.js';
import { CancelledError } from '../util/errors.js';
import type { BrowsePayload, BrowseResult } from './contract.js';
import {
  BROWSE_CAPABILITY,
  BROWSE_KIND,
  closeBrowse,
  registerBrowseHandler,
  type BrowseHandler,
  type BrowseQueue,
  type BrowseService,
} from './handler.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) console.warn(`browse tests skipped: ${CHROMIUM} is missing (apt-get install chromium)`);

const logger = createLogger('silent');

describe.skipIf(!haveChromium)('browse capability (real Chromium, local web site)', () => {
  let site: LocalWebSite;
  let llm: FakeOpenAiServer;
  let dataDir: string;
  let queue: SqliteTaskQueue;
  let tree = 0;
  const services: BrowseService[] = [];

  beforeAll(async () => {
    site = await startLocalWebSite();
    llm = await startFakeOpenAiServer();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-browse-'));
    queue = await openSqliteQueue({ file: path.join(dataDir, 'tasks.db') });
  });
  afterEach(async () => {
    await closeBrowse();
    services.length = 0;
    llm.reset();
  });
  afterAll(async () => {
    await closeBrowse();
    await queue.close();
    await llm.close();
    await site.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  let promRegistry = new Registry();

  function setup(options: JuneConfigInput = {}, withQueue = false) {
    promRegistry = new Registry();
    const config = configSchema.parse({
      dataDir,
      browseAllowPrivate: true,
      browsePageTimeoutMs: 30_000,
      ...options,
    });
    let handler: BrowseHandler | undefined;
    const registry = {
      register(kind: string, capability: string, h: BrowseHandler) {
        expect(kind).toBe(BROWSE_KIND);
        expect(capability).toBe(BROWSE_CAPABILITY);
        handler = h;
      },
    };
    const model = new OpenAiLanguageModel({ baseUrl: llm.url, model: 'june-test-model', retries: 0 });
    const service = registerBrowseHandler(registry, {
      config,
      logger,
      model: async () => model,
      metrics: browseMetrics(promRegistry),
      ...(withQueue ? { queue: queue as unknown as BrowseQueue, watchPollMs: 500 } : {}),
    });
    services.push(service);
    return { handler: handler!, service };
  }

  async function run(
    handler: BrowseHandler,
    payload: Partial<BrowsePayload> = {},
    signal = new AbortController().signal,
  ): Promise<{ result: BrowseResult; steps: { step: number; activity: string }[] }> {
    const steps: { step: number; activity: string }[] = [];
    const result = await handler({
      task: {
        id: `t-${tree}`,
        payload: {
          treeId: payload.treeId ?? `tree-${++tree}`,
          subtaskId: 'web',
          instructions: 'Find out about otters.',
          inputs: {},
          needs: [],
          ...payload,
        },
      },
      signal,
      reportProgress: async (stage, data) => {
        if (stage === 'step') steps.push(data as { step: number; activity: string });
      },
      once: (_step, fn) => fn(),
    });
    return { result, steps };
  }

  /** The tool observations the model was sent, in order (from the last request it got). */
  function observations(): string[] {
    const last = llm.chatRequests().at(-1);
    return (last?.body?.messages ?? []).filter((m) => m.role === 'tool').map((m) => String(m.content));
  }

  const open = (url: string) => nativeCalls([{ name: 'open_url', args: { url } }]);
  const finish = (answer: string) => nativeCalls([{ name: 'finish', args: { answer } }]);

  it('opens an article and reads its text without the boilerplate around it', async () => {
    const { handler } = setup();
    llm.enqueue(open(`${site.origin}/otters`), finish('Otters hold their breath for eight minutes.'));
    const { result, steps } = await run(handler);
    expect(result.text).toBe('Otters hold their breath for eight minutes.');
    const [page] = observations();
    expect(page).toContain(OTTER_FACT);
    expect(page).toContain('Title: The river otter');
    expect(page).not.toContain('Subscribe to our newsletter');
    expect(page).not.toContain('Accept all cookies');
    expect(page).not.toContain('Ten celebrity diets');
    expect(steps.map((s) => s.activity)).toEqual([`opening ${site.origin}/otters`, 'finishing']);
    expect(steps.map((s) => s.step)).toEqual([1, 2]);
    // the tools were offered to the model
    const tools = llm.chatRequests()[0]?.body?.tools?.map((t) => t.function.name);
    expect(tools).toEqual(
      expect.arrayContaining(['open_url', 'follow_link', 'fill_form', 'screenshot', 'finish']),
    );
  });

  it('lists the links of a page and follows one', async () => {
    const { handler } = setup();
    llm.enqueue(
      open(`${site.origin}/otters`),
      // a model without a tool parser writes Hermes tags in its content
      hermesCall('list_links', { contains: 'beaver' }),
      nativeCalls([{ name: 'follow_link', args: { number: 4 } }]),
      finish('Beavers build lodges.'),
    );
    const { result } = await run(handler);
    const [, links, followed] = observations();
    expect(links).toBe(`4. how beavers build their lodges → ${site.origin}/beavers`);
    expect(followed).toContain(BEAVER_FACT);
    expect(result.text).toBe('Beavers build lodges.');
  });

  it('fills a form and submits it; the answer page after the redirect is read', async () => {
    const { handler } = setup();
    llm.enqueue(
      open(`${site.origin}/form`),
      nativeCalls([
        {
          name: 'fill_form',
          args: {
            fields: [
              { field: 'Email address', value: 'ada@example.org' },
              { field: 'Your name', value: 'Ada' },
              { field: 'subscribe', value: 'true' },
            ],
            submit: true,
          },
        },
      ]),
      finish('Sent.'),
    );
    await run(handler, { instructions: 'Send the contact form as Ada (ada@example.org), subscribed.' });
    const post = site.requests.find((r) => r.method === 'POST' && r.path === '/submit');
    expect(new URLSearchParams(post?.body).get('email')).toBe('ada@example.org');
    expect(new URLSearchParams(post?.body).get('name')).toBe('Ada');
    expect(new URLSearchParams(post?.body).get('subscribe')).toBe('on');
    expect(observations()[1]).toContain('Thank you, Ada!');
  });

  it('searches through a SearXNG stand-in, and says it cannot search without one', async () => {
    const { handler } = setup({ searxngUrl: `${site.origin}/searx` });
    llm.enqueue(nativeCalls([{ name: 'search', args: { query: 'river otters' } }]), finish('Found it.'));
    await run(handler);
    const searched = site.requests.find((r) => r.path === '/searx/search');
    expect(searched).toBeDefined();
    expect(observations()[0]).toContain(`1. The river otter\n   ${site.origin}/otters`);

    await closeBrowse();
    llm.reset();
    const { handler: noSearch } = setup();
    llm.enqueue(nativeCalls([{ name: 'search', args: { query: 'river otters' } }]), finish('Cannot search.'));
    const { result } = await run(noSearch);
    expect(observations()[0]).toMatch(/Search is not configured here \(JUNE_SEARXNG_URL is not set\)/);
    expect(result.notes).toEqual([expect.stringMatching(/Search is not configured/)]);
    const prompt = llm.chatRequests()[0]?.body?.messages?.[1]?.content;
    expect(prompt).toContain('Web search is not configured here');
  });

  it('gives up on a page that does not load in time', async () => {
    const { handler } = setup({ browsePageTimeoutMs: 2000 });
    llm.enqueue(open(`${site.origin}/slow`), finish('Too slow.'));
    const { result } = await run(handler);
    expect(observations()[0]).toMatch(/did not load within 2 s \(JUNE_BROWSE_PAGE_TIMEOUT_MS\)/);
    expect(result.notes?.join('\n')).toMatch(/did not load within 2 s/);
  });

  it('gives up on a page whose scripts never yield', async () => {
    const { handler } = setup({ browsePageTimeoutMs: 2000 });
    llm.enqueue(open(`${site.origin}/busy`), finish('Busy.'));
    const { result } = await run(handler);
    expect(observations()[0]).toMatch(/scripts kept it busy for 2 s \(JUNE_BROWSE_PAGE_TIMEOUT_MS\)/);
    expect(result.text).toBe('Busy.');
    expect(result.notes).toEqual([expect.stringMatching(/scripts kept it busy/)]);
  });

  it('refuses a page larger than the size limit', async () => {
    const { handler } = setup({ browseMaxPageBytes: 256 * 1024 });
    llm.enqueue(open(`${site.origin}/huge`), finish('Too big.'));
    const { result } = await run(handler);
    expect(observations()[0]).toMatch(/larger than the limit of 262144 bytes \(JUNE_BROWSE_MAX_PAGE_BYTES\)/);
    expect(result.notes?.join('\n')).toMatch(/JUNE_BROWSE_MAX_PAGE_BYTES/);
    expect(observations()[0]).not.toContain('huge page text');
  });

  it('never reads file:///etc/passwd: not opened, not followed, not reached by the page itself', async () => {
    const { handler } = setup();
    llm.enqueue(
      open('file:///etc/passwd'),
      open(`${site.origin}/escape`),
      nativeCalls([{ name: 'list_links', args: {} }]),
      nativeCalls([{ name: 'screenshot', args: {} }]),
      finish('Nothing.'),
    );
    const { result } = await run(handler);
    const seen = observations();
    expect(seen[0]).toMatch(/I did not open file:\/\/\/etc\/passwd: blocked: only http and https/);
    // the page's own attempt did not take it there, and the file link is not offered
    expect(seen[1]).toContain('Nothing to see here.');
    expect(seen[2]).not.toContain('file:');
    for (const s of seen) expect(s).not.toMatch(/root:x:0/);
    expect(result.notes?.join('\n')).toMatch(/only http and https/);
    const shot = result.files?.[0];
    expect(shot).toBeDefined();
  });

  it('keeps to the host block- and allowlists, for the page and for what it loads', async () => {
    const { handler } = setup({ browseBlockedHosts: ['localhost'] });
    llm.enqueue(open(`${site.localhostOrigin}/otters`), open(`${site.origin}/cross-host`), finish('Done.'));
    const before = site.requests.length;
    const { result } = await run(handler);
    const seen = observations();
    expect(seen[0]).toMatch(/blocked: the host localhost is on the blocklist \(JUNE_BROWSE_BLOCKED_HOSTS\)/);
    expect(seen[1]).toContain('Title: Cross host');
    const after = site.requests.slice(before);
    expect(after.some((r) => r.host.startsWith('localhost'))).toBe(false);
    expect(after.some((r) => r.path === '/cross-host')).toBe(true);
    expect(result.notes?.join('\n')).toMatch(/blocklist/);

    llm.reset();
    const { handler: allowOnly } = setup({ browseAllowedHosts: ['example.org'] });
    llm.enqueue(open(`${site.origin}/otters`), finish('No.'));
    await run(allowOnly);
    expect(observations()[0]).toMatch(/not on the allowlist \(JUNE_BROWSE_ALLOWED_HOSTS: example.org\)/);

    llm.reset();
    const { handler: noPrivate } = setup({ browseAllowPrivate: false });
    llm.enqueue(open(`${site.origin}/otters`), finish('No.'));
    await run(noPrivate);
    expect(observations()[0]).toMatch(
      /local or private-network address \(JUNE_BROWSE_ALLOW_PRIVATE is off\)/,
    );
  });

  it('follows redirects within the same limits, and no further than five', async () => {
    const { handler } = setup({
      browseMaxPageBytes: 256 * 1024,
      browseBlockedHosts: ['localhost'],
      browsePageTimeoutMs: 15_000,
    });
    llm.enqueue(
      open(`${site.origin}/go?to=/otters`),
      open(`${site.origin}/go?to=/huge`),
      open(`${site.origin}/go?to=${encodeURIComponent(`${site.localhostOrigin}/otters`)}`),
      open(`${site.origin}/loop`),
      finish('Done.'),
    );
    const before = site.requests.length;
    await run(handler);
    const [moved, huge, blocked, loop] = observations();
    expect(moved).toContain(`URL: ${site.origin}/otters`);
    expect(moved).toContain(OTTER_FACT);
    expect(huge).toMatch(
      /redirected to .*\/huge, which failed: the page is larger than the limit of 262144 bytes/,
    );
    expect(blocked).toMatch(/blocked: the host localhost is on the blocklist/);
    expect(loop).toMatch(/redirected more than 5 times/);
    expect(site.requests.slice(before).some((r) => r.host.startsWith('localhost'))).toBe(false);
  });

  it('opens no more pages than the per-task limit', async () => {
    const { handler } = setup({ browseMaxPages: 2 });
    llm.enqueue(
      open(`${site.origin}/otters`),
      open(`${site.origin}/beavers`),
      open(`${site.origin}/form`),
      finish('Two pages.'),
    );
    const before = site.requests.length;
    const { result } = await run(handler);
    expect(observations()[2]).toMatch(/may open at most 2 pages \(JUNE_BROWSE_MAX_PAGES\)/);
    expect(site.requests.slice(before).filter((r) => r.path === '/form')).toHaveLength(0);
    expect(result.notes).toEqual([expect.stringMatching(/at most 2 pages/)]);
    const metrics = await promRegistry.getMetricsAsJSON();
    const value = (name: string, labels: Record<string, string> = {}) =>
      metrics
        .flatMap((m) =>
          m.values.map((v) => ({ ...v, metric: (v as { metricName?: string }).metricName ?? m.name })),
        )
        .find((v) => v.metric === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    expect(value('browse_limits_total', { limit: 'pages' })).toBe(1);
    expect(value('browse_tasks_total', { outcome: 'answered' })).toBe(1);
    expect(value('browse_tool_calls_total', { tool: 'open_url' })).toBe(3);
    expect(value('browse_pages_sum')).toBe(2);
  });

  it('stops at the step limit and answers with what it found, without tools', async () => {
    const { handler } = setup({ browseMaxSteps: 1 });
    llm.enqueue(open(`${site.origin}/otters`), textOnly('Otters hold their breath for eight minutes.'));
    const { result } = await run(handler);
    expect(result.text).toBe('Otters hold their breath for eight minutes.');
    expect(result.notes).toEqual([expect.stringMatching(/step limit \(1, JUNE_BROWSE_MAX_STEPS\)/)]);
    const last = llm.chatRequests().at(-1)?.body;
    expect(last?.tools).toBeUndefined();
    expect(String(last?.messages?.at(-1)?.content)).toMatch(/^Stop browsing: the step limit/);
  });

  it('refuses a payload that is not a subtask, for good', async () => {
    const { handler } = setup();
    await expect(run(handler, { instructions: '' })).rejects.toMatchObject({
      code: 'task_invalid',
      retryable: false,
    });
  });

  it('saves a screenshot in the tree directory and returns it as a file', async () => {
    const { handler } = setup();
    llm.enqueue(
      open(`${site.origin}/otters`),
      nativeCalls([{ name: 'screenshot', args: {} }]),
      finish('Here.'),
    );
    const { result } = await run(handler, { treeId: 'shot-tree', subtaskId: 'pics' });
    expect(result.files).toEqual([
      { name: 'pics-1.png', path: path.join(dataDir, 'browse', 'shot-tree', 'pics-1.png') },
    ]);
    const png = fs.readFileSync(result.files![0]!.path);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.length).toBeGreaterThan(1000);
  });

  it("keeps a tree's context between its subtasks and closes it when the root completes", async () => {
    const { handler, service } = setup({}, true);
    const rootId = await queue.enqueue({ kind: 'plan.run', capability: 'plan', payload: {} });
    llm.enqueue(open(`${site.origin}/otters`), finish('one'));
    await run(handler, { treeId: rootId });
    expect(service.pool.openTrees()).toEqual([rootId]);
    expect(countChildren('chromium')).toBeGreaterThan(0);
    // a second subtask of the same tree uses the same context
    llm.enqueue(open(`${site.origin}/beavers`), finish('two'));
    await run(handler, { treeId: rootId, subtaskId: 'second' });
    expect(service.pool.openTrees()).toEqual([rootId]);

    const lease = await queue.claim(['plan'], 'test-worker');
    expect(lease?.task.id).toBe(rootId);
    await queue.complete(lease!, { status: 'completed' });
    await waitFor(() => service.pool.openTrees().length === 0 && countChildren('chromium') === 0);
    // a late subtask of the ended tree gets no browser
    await expect(run(handler, { treeId: rootId, subtaskId: 'late' })).rejects.toBeInstanceOf(CancelledError);
    expect(countChildren('chromium')).toBe(0);
  });

  it("shares cookies between a tree's subtasks and with no other tree", async () => {
    const { handler } = setup({}, true);
    const treeA = await queue.enqueue({ kind: 'plan.run', capability: 'plan', payload: {} });
    const treeB = await queue.enqueue({ kind: 'plan.run', capability: 'plan', payload: {} });
    llm.enqueue(open(`${site.origin}/set-cookie?v=a`), finish('set'));
    await run(handler, { treeId: treeA, subtaskId: 'login' });
    llm.enqueue(open(`${site.origin}/whoami`), finish('a'));
    await run(handler, { treeId: treeA, subtaskId: 'read' });
    expect(observations()[0]).toContain('Cookies: [visitor=a; seen=yes]');
    llm.enqueue(open(`${site.origin}/whoami`), finish('b'));
    await run(handler, { treeId: treeB, subtaskId: 'read' });
    expect(observations()[0]).toContain('Cookies: [none]');
    await queue.cancel(treeA);
    await queue.cancel(treeB);
  });

  it('stops a running task and closes its context when the tree is cancelled', async () => {
    const { handler, service } = setup({}, true);
    const rootId = await queue.enqueue({ kind: 'plan.run', capability: 'plan', payload: {} });
    llm.enqueue(open(`${site.origin}/slow`), finish('never'));
    const controller = new AbortController();
    const before = site.requests.length;
    const running = run(handler, { treeId: rootId }, controller.signal);
    await waitFor(() => site.requests.slice(before).some((r) => r.path === '/slow'));
    expect(service.pool.openTrees()).toEqual([rootId]);
    // the root is cancelled (the planner's cancelTree): the running task stops with its tree, even
    // before the worker runtime aborts the child's own signal
    await queue.cancel(rootId);
    await expect(running).rejects.toBeInstanceOf(CancelledError);
    await waitFor(() => service.pool.openTrees().length === 0 && countChildren('chromium') === 0);
  });
  it('runs as a browse.task on a real worker, with its steps on the task record', async () => {
    const registry = new HandlerRegistry();
    const config = configSchema.parse({ dataDir, browseAllowPrivate: true });
    const model = new OpenAiLanguageModel({ baseUrl: llm.url, model: 'june-test-model', retries: 0 });
    const service = registerBrowseHandler(registry, {
      config,
      logger,
      model: async () => model,
      queue,
      watchPollMs: 500,
    });
    const pool = await startWorkers({
      queue,
      registry,
      capabilities: [BROWSE_CAPABILITY],
      concurrency: 1,
      metrics: false,
      logger,
    });
    try {
      const rootId = await queue.enqueue({ kind: 'plan.run', capability: 'plan', payload: {} });
      llm.enqueue(open(`${site.origin}/otters`), finish('Eight minutes.'));
      const payload: BrowsePayload = {
        treeId: rootId,
        subtaskId: 'web',
        instructions: 'How long can a river otter hold its breath?',
        inputs: { url: `${site.origin}/otters` },
        needs: [],
      };
      const id = await queue.enqueue({
        kind: BROWSE_KIND,
        capability: BROWSE_CAPABILITY,
        payload,
        idempotencyKey: `${rootId}:web`,
      });
      let detail = await queue.get(id);
      const until = Date.now() + 60_000;
      while (detail?.task.state !== 'completed' && Date.now() < until) {
        expect(detail?.task.state).not.toBe('dead');
        await new Promise((r) => setTimeout(r, 100));
        detail = await queue.get(id);
      }
      expect(detail?.task.result).toEqual({ text: 'Eight minutes.', tokens: expect.any(Object) });
      const steps = detail?.timeline
        .filter((e) => e.type === 'progress' && e.stage === 'step')
        .map((e) => e.data);
      expect(steps).toEqual([
        { step: 1, activity: `opening ${site.origin}/otters` },
        { step: 2, activity: 'finishing' },
      ]);
      expect(String(llm.chatRequests()[0]?.body?.messages?.[1]?.content)).toContain(
        `- url: ${site.origin}/otters`,
      );
      expect(service.pool.openTrees()).toEqual([rootId]);
      await queue.cancel(rootId);
      await waitFor(() => service.pool.openTrees().length === 0 && countChildren('chromium') === 0);
    } finally {
      await pool.stop();
    }
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
