/**
 * Prometheus metrics of the browse capability (once per registry): tasks by outcome, pages opened per
 * task, tool calls, and the limits and refusals hit, by kind (named after the option that set them).
 */
import { Counter, Histogram, register as defaultRegistry, type Registry } from 'prom-client';

export interface BrowseMetrics {
  tasks: Counter<'outcome'>;
  pages: Histogram;
  toolCalls: Counter<'tool'>;
  limits: Counter<'limit'>;
}

const cache = new WeakMap<Registry, BrowseMetrics>();

export function browseMetrics(registry: Registry = defaultRegistry): BrowseMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: BrowseMetrics = {
    tasks: new Counter({
      name: 'browse_tasks_total',
      help: 'Browse tasks by outcome (answered, stopped at a limit, cancelled, failed)',
      labelNames: ['outcome'],
      registers,
    }),
    pages: new Histogram({
      name: 'browse_pages',
      help: 'Pages one browse task opened',
      buckets: [0, 1, 2, 3, 5, 8, 13, 20, 50],
      registers,
    }),
    toolCalls: new Counter({
      name: 'browse_tool_calls_total',
      help: 'Browse tool calls by tool',
      labelNames: ['tool'],
      registers,
    }),
    limits: new Counter({
      name: 'browse_limits_total',
      help: 'Limits and refusals hit by browse tasks, by kind',
      labelNames: ['limit'],
      registers,
    }),
  };
  cache.set(registry, m);
  return m;
}

const KINDS: [RegExp, string][] = [
  [/JUNE_BROWSE_MAX_PAGES/, 'pages'],
  [/JUNE_BROWSE_PAGE_TIMEOUT_MS/, 'page_time'],
  [/JUNE_BROWSE_MAX_PAGE_BYTES/, 'page_size'],
  [/JUNE_BROWSE_MAX_STEPS/, 'steps'],
  [/JUNE_BROWSE_BLOCKED_HOSTS/, 'blocklist'],
  [/JUNE_BROWSE_ALLOWED_HOSTS/, 'allowlist'],
  [/JUNE_BROWSE_ALLOW_PRIVATE/, 'private'],
  [/only http and https/, 'scheme'],
  [/JUNE_SEARXNG_URL/, 'no_search'],
  [/time limit was reached/, 'deadline'],
  [/token budget/, 'tokens'],
  [/redirected more than/, 'redirects'],
];

/** The kind of limit a result note tells of ('other' for the rest: a page that failed, a search error). */
export function limitKind(note: string): string {
  return KINDS.find(([re]) => re.test(note))?.[1] ?? 'other';
}
