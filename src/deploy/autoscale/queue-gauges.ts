/**
 * Reads the queue gauges that KEDA scales on (june_tasks_new, _active, _retrying, _dead per capability)
 * from a June /metrics endpoint: `june start`'s web server or a worker's --metrics-port. Every June
 * process reports the whole queue, so one endpoint is enough; a gauge seen twice counts once (max).
 */
import { JuneError } from '../../util/errors.js';
import { ZERO_LOAD, type QueueLoad } from './policy.js';

const GAUGES: Record<string, keyof QueueLoad> = {
  june_tasks_new: 'new',
  june_tasks_active: 'active',
  june_tasks_retrying: 'retrying',
  june_tasks_dead: 'dead',
};

export class MetricsUnavailableError extends JuneError {
  constructor(url: string, detail: string, cause?: unknown) {
    super(`cannot read queue metrics from ${url}: ${detail}`, {
      code: 'autoscale_metrics_unavailable',
      userMessage: `June's metrics at ${url} cannot be read (${detail}); is June running there?`,
      cause,
    });
  }
}

/** Parses the Prometheus text format for the queue gauges; other metrics are ignored. */
export function parseQueueGauges(text: string): Map<string, QueueLoad> {
  const loads = new Map<string, QueueLoad>();
  for (const line of text.split('\n')) {
    const m = /^(june_tasks_(?:new|active|retrying|dead))\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const capability = /(?:^|,)capability="((?:[^"\\]|\\.)*)"/.exec(m[2]!)?.[1];
    const value = Number(m[3]);
    if (capability === undefined || !Number.isFinite(value)) continue;
    const load = loads.get(capability) ?? { ...ZERO_LOAD };
    const key = GAUGES[m[1]!]!;
    load[key] = Math.max(load[key], value);
    loads.set(capability, load);
  }
  return loads;
}

export async function readQueueGauges(url: string, timeoutMs = 10_000): Promise<Map<string, QueueLoad>> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    throw new MetricsUnavailableError(url, cause instanceof Error ? cause.message : String(cause), err);
  }
  if (!res.ok) throw new MetricsUnavailableError(url, `HTTP ${res.status}`);
  const text = await res.text();
  if (!/^# (HELP|TYPE) june_tasks_new\b/m.test(text))
    throw new MetricsUnavailableError(url, 'it has no june_tasks_new gauge (not a June metrics endpoint?)');
  return parseQueueGauges(text);
}
