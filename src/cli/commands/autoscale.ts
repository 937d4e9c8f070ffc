/**
 * `june autoscale`: scales worker containers on a Docker host per capability, from the queue gauges that
 * KEDA uses on Kubernetes (docs/deploy.md). It reads June's /metrics, finds the worker containers by
 * their labels (deploy/compose.yaml sets them) and starts or stops containers through the Docker Engine
 * API. --dry-run prints the decisions and changes nothing; --once runs a single round.
 */
import type { Command } from 'commander';
import type { PoolLimits } from '../../deploy/autoscale/policy.js';
import { JuneError } from '../../util/errors.js';
import { cliContext } from '../context.js';

interface AutoscaleOpts {
  metricsUrl: string;
  dockerSocket: string;
  interval: string;
  min: string;
  max: string;
  limit: string[];
  perWorker?: string;
  upCooldown: string;
  downCooldown: string;
  stopTimeout: string;
  dryRun?: boolean;
  once?: boolean;
  json?: boolean;
}

class AutoscaleUsageError extends JuneError {
  constructor(message: string) {
    super(message, { code: 'cli_usage' });
  }
}

function count(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new AutoscaleUsageError(`${flag} must be a whole number ≥ 0, not "${value}"`);
  return n;
}

/** "--limit voice,chat=1:8" → the pool key (capabilities sorted) and its bounds. */
export function parseLimit(value: string): [string, { min: number; max: number }] {
  const m = /^([a-z0-9_,]+)=(\d+):(\d+)$/.exec(value.trim());
  if (!m)
    throw new AutoscaleUsageError(
      `--limit must look like CAPABILITIES=MIN:MAX (e.g. voice,chat=1:8), not "${value}"`,
    );
  const min = Number(m[2]);
  const max = Number(m[3]);
  if (min > max) throw new AutoscaleUsageError(`--limit ${value}: the minimum is above the maximum`);
  return [poolKey(m[1]!), { min, max }];
}

const poolKey = (capabilities: string) => capabilities.split(',').filter(Boolean).sort().join(',');

export function register(program: Command): void {
  program
    .command('autoscale')
    .description('Scale worker containers on this Docker host per capability, from the task queue metrics')
    .option(
      '--metrics-url <url>',
      "June's Prometheus metrics (june start or a worker's --metrics-port)",
      'http://127.0.0.1:7117/metrics',
    )
    .option('--docker-socket <path>', 'Docker Engine API socket', '/var/run/docker.sock')
    .option('--interval <seconds>', 'seconds between rounds', '15')
    .option('--min <n>', 'fewest workers per pool', '1')
    .option('--max <n>', 'most workers per pool', '10')
    .option(
      '--limit <caps=min:max>',
      'bounds of one pool, e.g. voice,chat=1:8 or code=0:4 (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--per-worker <n>', "tasks one worker runs at once (default: the containers' --concurrency)")
    .option('--up-cooldown <seconds>', 'after a change, wait this long before adding workers', '30')
    .option('--down-cooldown <seconds>', 'after a change, wait this long before removing workers', '180')
    .option(
      '--stop-timeout <seconds>',
      'how long a stopping worker may drain (longer than its --drain-timeout)',
      '45',
    )
    .option('--dry-run', 'print the decisions, change nothing')
    .option('--once', 'one round, then exit')
    .option('--json', 'print each decision as a JSON line')
    .action(async (opts: AutoscaleOpts) => {
      const { logger, config } = cliContext();
      const limits = new Map(opts.limit.map(parseLimit));
      const defaults = { min: count('--min', opts.min), max: count('--max', opts.max) };
      if (defaults.min > defaults.max) throw new AutoscaleUsageError('--min is above --max');
      const perWorker = opts.perWorker === undefined ? undefined : count('--per-worker', opts.perWorker);
      const intervalMs = count('--interval', opts.interval) * 1000;
      const upCooldownMs = count('--up-cooldown', opts.upCooldown) * 1000;
      const downCooldownMs = count('--down-cooldown', opts.downCooldown) * 1000;
      const { DockerPools } = await import('../../deploy/autoscale/docker-pools.js');
      const { Autoscaler, formatRound } = await import('../../deploy/autoscale/autoscaler.js');
      const docker = await DockerPools.connect({
        socketPath: opts.dockerSocket,
        stopTimeoutS: count('--stop-timeout', opts.stopTimeout),
      });
      const scaler = new Autoscaler({
        docker,
        metricsUrl: opts.metricsUrl,
        dryRun: opts.dryRun === true,
        logger,
        limits: (pool): PoolLimits => ({
          ...(limits.get(poolKey(pool.key)) ?? defaults),
          perWorker: perWorker ?? pool.concurrency ?? config.workerConcurrency,
          upCooldownMs,
          downCooldownMs,
        }),
      });
      const print = (results: Awaited<ReturnType<typeof scaler.round>>) =>
        process.stdout.write(
          opts.json ? results.map((r) => JSON.stringify(r) + '\n').join('') : formatRound(results),
        );
      if (opts.once) {
        print(await scaler.round());
        return;
      }
      const stop = new AbortController();
      for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => stop.abort());
      while (!stop.signal.aborted) {
        try {
          print(await scaler.round());
        } catch (err) {
          // a missed round (June restarting, Docker busy) is logged; the next one tries again
          const e =
            err instanceof JuneError
              ? err
              : new JuneError(String(err), { code: 'autoscale_failed', cause: err });
          logger.warn({ code: e.code, err: e.message }, 'autoscale round failed');
          process.stderr.write(`june autoscale: ${e.userMessage}\n`);
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, intervalMs);
          stop.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        });
      }
    });
}
