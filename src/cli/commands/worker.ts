/**
 * `june worker`: a standalone worker process that runs tasks of its capabilities from the configured queue
 * (several machines on one Redis with JUNE_QUEUE=bullmq). SIGTERM drains it within the drain deadline:
 * running tasks finish, the rest stay queued for other workers; a second signal exits at once.
 */
import type { Command } from 'commander';
import { configuredAdapters, startChannelRuntime } from '../../channels/runtime.js';
import { createLogger, setLogger } from '../../observability/logger.js';
import { serveMetrics, taskMetrics } from '../../tasks/metrics.js';
import { openTaskQueue } from '../../tasks/open-queue.js';
import { startWorkers } from '../../tasks/runtime.js';
import { UploadStore } from '../../web/uploads.js';
import { createWebAdapter } from '../../web/web-adapter.js';
import { addBrowseCapability } from './browse.js';
import { addCodeCapability } from './code.js';
import { addPlanCapability } from './plan.js';
import { cancelTree } from '../../planner/index.js';
import { addEvalCapability } from './eval-queue.js';
import { cliContext } from '../context.js';
import { CliUsageError } from '../usage-error.js';
import { shutdownOnSignals } from '../shutdown.js';

interface WorkerOpts {
  capabilities?: string;
  concurrency?: string;
  metricsPort?: string;
  drainTimeout?: string;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new CliUsageError(`not a number of seconds: ${value}`);
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new CliUsageError(`not a port number: ${value}`);
  return n;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('Run task workers until stopped (SIGTERM drains running tasks first)')
    .option(
      '--capabilities <list>',
      'comma-separated capabilities to serve (default: JUNE_WORKER_CAPABILITIES)',
    )
    .option('--concurrency <n>', 'tasks run at once (default: JUNE_WORKER_CONCURRENCY)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port at /metrics')
    .option('--drain-timeout <seconds>', 'shutdown deadline in seconds (default: JUNE_DRAIN_TIMEOUT_MS)')
    .action(async (opts: WorkerOpts) => {
      const { config } = cliContext({
        workerCapabilities: opts.capabilities,
        workerConcurrency: opts.concurrency,
      });
      // a long-running service logs at the configured level (other commands keep the terminal quiet)
      const logger = createLogger(process.env.JUNE_LOG_LEVEL ?? config.logLevel);
      setLogger(logger);
      const deadlineMs =
        opts.drainTimeout !== undefined ? seconds(opts.drainTimeout) * 1000 : config.drainTimeoutMs;
      const shutdown = shutdownOnSignals({ deadlineMs, logger });
      // one queue for the workers and the channel runtime: a parked update (channel.inbound) is taken in
      // again through the runtime's gateway, which needs the queue to enqueue its turn
      const queue = await openTaskQueue(config, { logger });
      shutdown.add('queue', () => queue.close());
      // the channel handlers with send-only adapters: a worker on another machine answers Telegram and
      // Discord messages that `june start` received, and web voice messages when it shares the data dir
      const web = createWebAdapter({
        uploads: UploadStore.forDataDir(config.dataDir),
        maxDownloadBytes: config.audioMaxBytes,
      });
      const runtime = await startChannelRuntime({
        config,
        queue,
        logger,
        receive: false,
        cancelPlanTree: cancelTree,
        adapters: [...(await configuredAdapters(config, logger)), web],
      });
      shutdown.add('channels', () => runtime.stop());
      await addCodeCapability(runtime.handlers, config, logger, runtime.codeHooks);
      await addPlanCapability(runtime.handlers, { config, logger, queue, runtime });
      const closeEval = await addEvalCapability(runtime.handlers, config, logger);
      if (closeEval) shutdown.add('eval sandbox', closeEval);
      const closeBrowse = await addBrowseCapability(runtime.handlers, config, logger, queue);
      if (closeBrowse) shutdown.add('browser', closeBrowse);
      const metrics = taskMetrics();
      const server = opts.metricsPort !== undefined ? await serveMetrics(port(opts.metricsPort)) : undefined;
      if (server) shutdown.add('metrics', () => server.close());
      const pool = await startWorkers({
        config,
        queue,
        logger,
        metrics,
        registry: runtime.handlers,
        // running tasks get half the deadline to finish; the rest is for giving tasks back and closing
        drainTimeoutMs: deadlineMs / 2,
      });
      shutdown.add('workers', () => pool.stop());
      logger.info(
        {
          worker: pool.id,
          capabilities: pool.capabilities,
          concurrency: pool.concurrency,
          metricsPort: server?.port,
        },
        'worker running',
      );
      await shutdown.done;
    });
}
