/**
 * The `browse` capability on the task backbone: a handler for `browse.task` subtasks (a plan's web work).
 * Each runs the browse loop on a new page in its task tree's browser context, so the subtasks of one tree
 * share cookies and logins and no other tree sees them. The context is closed when the tree's root task
 * settles or is cancelled (watched on the queue: its events, and a slow look as a safety net), after a
 * while without work, and at shutdown (`closeBrowse`). Without a queue to watch, a context lasts one task.
 *
 * Browse does not depend on the task layer (docs/architecture.md): the registry, the handler context and
 * the queue are described here by what browse uses of them, and the composition root passes the real ones:
 *
 *   registerBrowseHandler(handlers, { config, logger, queue });
 */
import path from 'node:path';
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { createLanguageModel } from '../providers/factory.js';
import type { LanguageModel } from '../providers/types.js';
import { CancelledError, JuneError } from '../util/errors.js';
import { BROWSE_CAPABILITY, BROWSE_KIND, browsePayloadSchema, type BrowseResult } from './contract.js';
import { runBrowseLoop } from './loop.js';
import { browseMetrics, limitKind, type BrowseMetrics } from './metrics.js';
import type { ToolState } from './page-tools.js';
import { BrowserPool, TreeClosedError } from './session.js';

export { BROWSE_CAPABILITY, BROWSE_KIND, type BrowsePayload, type BrowseResult } from './contract.js';

/** What the handler uses of the task layer's handler context. */
export interface BrowseHandlerContext {
  task: { id: string; payload: unknown };
  signal: AbortSignal;
  reportProgress(stage: string, data?: unknown): Promise<void>;
  once<T>(step: string, fn: () => Promise<T>): Promise<T>;
  logger?: Logger;
}

export type BrowseHandler = (ctx: BrowseHandlerContext) => Promise<BrowseResult>;

/** What browse uses of a handler registry (the task layer's HandlerRegistry). */
export interface BrowseRegistry {
  register(kind: string, capability: string, handler: BrowseHandler): void;
}

/** What browse uses of the task queue: the root task's state and its events. */
export interface BrowseQueue {
  get(id: string): Promise<{ task: { state: string } } | undefined>;
  subscribe(
    listener: (event: { taskId: string; type: string }) => void,
    filter?: { taskId?: string },
  ): Promise<{ close(): Promise<void> }>;
}

export interface BrowseDeps {
  config: JuneConfig;
  logger: Logger;
  /** The language model; default: one created from the config on first use and kept. */
  model?: () => Promise<LanguageModel>;
  /** Watched for the end of each tree; without it a tree's context closes after each task. */
  queue?: BrowseQueue;
  /** How often a watched root's state is read again, besides its events (default 15 s). */
  watchPollMs?: number;
  /** Default: on prom-client's default registry. */
  metrics?: BrowseMetrics;
}

export interface BrowseService {
  pool: BrowserPool;
  /** Closes every context, the browser, and stops watching roots. */
  close(): Promise<void>;
}

const FINAL = new Set(['completed', 'dead', 'cancelled']);
const services = new Set<BrowseService>();

/** Closes the browsers of every registered browse handler (shutdown). */
export async function closeBrowse(): Promise<void> {
  await Promise.all([...services].map((s) => s.close()));
}

export function registerBrowseHandler(registry: BrowseRegistry, deps: BrowseDeps): BrowseService {
  const { config, logger } = deps;
  const policy = {
    blockedHosts: config.browseBlockedHosts,
    allowedHosts: config.browseAllowedHosts,
    allowPrivate: config.browseAllowPrivate,
  };
  const pool = new BrowserPool({
    chromiumPath: config.browseChromiumPath,
    limits: { pageTimeoutMs: config.browsePageTimeoutMs, maxPageBytes: config.browseMaxPageBytes, policy },
    logger,
  });
  const metrics = deps.metrics ?? browseMetrics();
  let modelPromise: Promise<LanguageModel> | undefined;
  const model =
    deps.model ??
    (() => {
      modelPromise ??= createLanguageModel(config, { logger }).then(async (m) => {
        await m.load();
        return m;
      });
      modelPromise.catch(() => (modelPromise = undefined));
      return modelPromise;
    });

  const watches = new Map<string, { close(): void }>();
  /** The running tasks of each tree: stopped when their tree ends under them. */
  const running = new Map<string, Set<AbortController>>();
  const endTree = (treeId: string) => {
    watches.get(treeId)?.close();
    watches.delete(treeId);
    for (const c of running.get(treeId) ?? []) c.abort();
    void pool.closeTree(treeId, 'ended').catch(() => undefined);
  };
  /** Starts watching a tree's root; false when the root has already settled. */
  const watch = async (treeId: string): Promise<boolean> => {
    const queue = deps.queue;
    if (!queue || watches.has(treeId)) return true;
    const entry = {
      closed: false,
      sub: undefined as { close(): Promise<void> } | undefined,
      timer: undefined as NodeJS.Timeout | undefined,
    };
    const handle = {
      close: () => {
        entry.closed = true;
        if (entry.timer) clearInterval(entry.timer);
        void entry.sub?.close().catch(() => undefined);
      },
    };
    watches.set(treeId, handle);
    entry.sub = await queue.subscribe(
      (e) => {
        if (e.taskId === treeId && FINAL.has(e.type)) endTree(treeId);
      },
      { taskId: treeId },
    );
    if (entry.closed) void entry.sub.close().catch(() => undefined);
    entry.timer = setInterval(() => {
      queue
        .get(treeId)
        .then((d) => {
          if (!d || FINAL.has(d.task.state)) endTree(treeId);
        })
        .catch(() => undefined);
    }, deps.watchPollMs ?? 15_000);
    entry.timer.unref();
    const root = await queue.get(treeId);
    if (!root || FINAL.has(root.task.state)) {
      endTree(treeId);
      return false;
    }
    return true;
  };

  const handler: BrowseHandler = async (ctx) => {
    const parsed = browsePayloadSchema.safeParse(ctx.task.payload);
    if (!parsed.success)
      throw new JuneError(`invalid browse payload: ${parsed.error.issues[0]?.message ?? 'unknown'}`, {
        code: 'task_invalid',
        userMessage: 'The browse task could not be read.',
      });
    const p = parsed.data;
    return ctx.once('browse', async () => {
      if (!(await watch(p.treeId))) throw new CancelledError('the task tree has ended');
      const stop = new AbortController();
      const signal = AbortSignal.any([ctx.signal, stop.signal]);
      const mine = running.get(p.treeId) ?? new Set<AbortController>();
      running.set(p.treeId, mine.add(stop));
      try {
        return await browse(ctx, p, signal);
      } finally {
        mine.delete(stop);
        if (mine.size === 0) running.delete(p.treeId);
      }
    });
  };

  const browse = async (
    ctx: BrowseHandlerContext,
    p: ReturnType<typeof browsePayloadSchema.parse>,
    signal: AbortSignal,
  ): Promise<BrowseResult> => {
    let tp;
    try {
      tp = await pool.openPage(p.treeId);
    } catch (err) {
      if (err instanceof TreeClosedError) throw new CancelledError(err.message);
      throw new JuneError(`Chromium could not start: ${(err as Error).message}`, {
        code: 'browse_unavailable',
        userMessage: 'The web browser could not be started on this worker.',
        cause: err,
      });
    }
    const onAbort = () => void tp.release();
    signal.addEventListener('abort', onAbort, { once: true });
    const state: ToolState = {
      tp,
      policy,
      maxPages: config.browseMaxPages,
      pageTimeoutMs: config.browsePageTimeoutMs,
      pages: 0,
      ...(config.searxngUrl ? { searxngUrl: config.searxngUrl } : {}),
      dir: path.join(config.dataDir, 'browse', safeName(p.treeId)),
      filePrefix: safeName(p.subtaskId),
      files: [],
      notes: [],
      links: [],
      signal,
    };
    try {
      const llm = await model();
      const result = await runBrowseLoop({
        task: taskText(p, Boolean(config.searxngUrl)),
        model: llm,
        state,
        maxSteps: config.browseMaxSteps,
        ...(p.deadlineAt !== undefined ? { deadlineAt: p.deadlineAt } : {}),
        ...(p.maxTokens !== undefined ? { maxTokens: p.maxTokens } : {}),
        signal,
        logger: ctx.logger ?? logger,
        onTool: (tool) => metrics.toolCalls.inc({ tool }),
        onStep: (step, activity) =>
          void ctx.reportProgress('step', { step, activity }).catch(() => undefined),
      });
      if (result.limitHit) state.notes.push(`Browsing stopped early: ${result.limitHit}.`);
      metrics.tasks.inc({ outcome: result.limitHit ? 'limit' : 'answered' });
      metrics.pages.observe(state.pages);
      for (const note of state.notes) metrics.limits.inc({ limit: limitKind(note) });
      return {
        text: result.answer,
        ...(state.files.length ? { files: state.files } : {}),
        ...(state.notes.length ? { notes: state.notes } : {}),
        tokens: result.tokens,
      };
    } catch (err) {
      metrics.tasks.inc({ outcome: signal.aborted ? 'cancelled' : 'failed' });
      if (signal.aborted) throw new CancelledError('the browse task was cancelled');
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      await tp.release();
      if (!deps.queue) await pool.closeTree(p.treeId, 'idle').catch(() => undefined);
    }
  };

  registry.register(BROWSE_KIND, BROWSE_CAPABILITY, handler);
  const service: BrowseService = {
    pool,
    close: async () => {
      for (const w of watches.values()) w.close();
      watches.clear();
      services.delete(service);
      await pool.closeAll();
    },
  };
  services.add(service);
  return service;
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'x';
}

function taskText(p: ReturnType<typeof browsePayloadSchema.parse>, canSearch: boolean): string {
  const parts = [`Task: ${p.instructions}`];
  const inputs = Object.entries(p.inputs);
  if (inputs.length) parts.push(`Inputs:\n${inputs.map(([k, v]) => `- ${k}: ${v}`).join('\n')}`);
  for (const n of p.needs) parts.push(`Result of the earlier step "${n.id}":\n${n.result}`);
  if (!canSearch) parts.push('Web search is not configured here: work with the URLs given.');
  return parts.join('\n\n');
}
