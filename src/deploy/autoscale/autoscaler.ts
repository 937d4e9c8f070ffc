/**
 * `june autoscale`'s loop: each round reads the queue gauges, lists the worker pools, decides per pool
 * (policy.ts) and, unless it is a dry run, starts or stops containers. Every decision is reported, also
 * the ones that change nothing, so a dry run shows exactly what would happen.
 */
import type { Logger } from '../../observability/logger.js';
import type { DockerPools, Pool } from './docker-pools.js';
import { decide, poolLoad, type Decision, type PoolLimits } from './policy.js';
import { readQueueGauges } from './queue-gauges.js';

export interface AutoscalerOptions {
  docker: Pick<DockerPools, 'pools' | 'scaleUp' | 'scaleDown'>;
  metricsUrl: string;
  /** Limits of a pool (by its june.capabilities label). */
  limits(pool: Pool): PoolLimits;
  dryRun: boolean;
  logger: Logger;
  now?: () => number;
}

export interface RoundResult extends Decision {
  pool: string;
  /** Containers started or stopped (none in a dry run). */
  changed: string[];
  dryRun: boolean;
}

export class Autoscaler {
  private readonly lastScaledAt = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: AutoscalerOptions) {
    this.now = options.now ?? Date.now;
  }

  async round(): Promise<RoundResult[]> {
    const { docker, dryRun, logger } = this.options;
    const loads = await readQueueGauges(this.options.metricsUrl);
    const results: RoundResult[] = [];
    for (const pool of await docker.pools()) {
      const running = pool.containers.filter((c) => c.running).length;
      const decision = decide(
        { capabilities: pool.capabilities, running, lastScaledAt: this.lastScaledAt.get(pool.key) },
        poolLoad(pool.capabilities, loads),
        this.options.limits(pool),
        this.now(),
      );
      let changed: string[] = [];
      if (!dryRun && decision.action === 'up')
        changed = await docker.scaleUp(pool, decision.desired - running);
      if (!dryRun && decision.action === 'down')
        changed = await docker.scaleDown(pool, running - decision.desired);
      if (!dryRun && decision.action !== 'none') this.lastScaledAt.set(pool.key, this.now());
      const result = { ...decision, pool: pool.key, changed, dryRun };
      if (decision.action !== 'none') logger.info(result, 'autoscale');
      results.push(result);
    }
    return results;
  }
}

/** One line per decision: "voice,chat: 1 → 3 (up) 9 new + 2 in flight need 3 × 4; retrying 1, dead 0". */
export function formatRound(results: RoundResult[]): string {
  return results
    .map((r) => {
      const change =
        r.action === 'none' ? `${r.running} (no change)` : `${r.running} → ${r.desired} (${r.action})`;
      const done =
        r.dryRun && r.action !== 'none'
          ? ' [dry run: nothing done]'
          : r.changed.length
            ? ` [${r.changed.join(', ')}]`
            : '';
      return `${r.pool}: ${change}: ${r.reason}; retrying ${r.load.retrying}, dead ${r.load.dead}${done}\n`;
    })
    .join('');
}
