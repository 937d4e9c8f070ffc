/**
 * `june start` (what `npm start` runs): the task queue, in-process workers, every chat channel whose token
 * is configured, and the web page + HTTP API. SIGTERM/SIGINT drain running tasks and close everything
 * within the drain deadline (drainTimeoutMs); a second signal exits at once.
 */
import type { Command } from 'commander';
import { startChannelRuntime } from '../../channels/runtime.js';
import { setupCodeNotice } from './pairing.js';
import { openTaskQueue } from '../../tasks/open-queue.js';
import { startWorkers } from '../../tasks/runtime.js';
import { addBrowseCapability } from './browse.js';
import { addCodeCapability } from './code.js';
import { addPlanCapability } from './plan.js';
import { cancelTree } from '../../planner/index.js';
import { addEvalCapability } from './eval-queue.js';
import { cliContext } from '../context.js';
import { shutdownOnSignals } from '../shutdown.js';

interface StartOptions {
  web?: boolean;
  workers?: boolean;
  port?: string;
  host?: string;
}

export function register(program: Command): void {
  program
    .command('start')
    .description('Run June: chat channels with a configured token, the web page and API, and workers')
    .option('--no-web', 'do not serve the web page and HTTP API')
    .option('--no-workers', 'receive only; standalone `june worker` processes run the tasks')
    .option('--port <port>', 'web/API port (JUNE_HTTP_PORT)')
    .option('--host <host>', 'web/API address (JUNE_HTTP_HOST)')
    .action(async (opts: StartOptions) => {
      const { config, logger } = cliContext(
        { httpPort: opts.port, httpHost: opts.host, ...(opts.web === false ? { web: false } : {}) },
        { server: true },
      );
      // first, so that a signal during a slow start (a channel that cannot connect) is bounded too
      const shutdown = shutdownOnSignals({ deadlineMs: config.drainTimeoutMs, logger });
      const queue = await openTaskQueue(config, { logger });
      shutdown.add('task queue', () => queue.close());
      const runtime = await startChannelRuntime({ config, queue, logger, cancelPlanTree: cancelTree });
      shutdown.add('channels', () => runtime.stop());
      await addCodeCapability(runtime.handlers, config, logger, runtime.codeHooks);
      await addPlanCapability(runtime.handlers, { config, logger, queue, runtime });
      const closeEval = await addEvalCapability(runtime.handlers, config, logger);
      if (closeEval) shutdown.add('eval sandbox', closeEval);
      const closeBrowse = await addBrowseCapability(runtime.handlers, config, logger, queue);
      if (closeBrowse) shutdown.add('browser', closeBrowse);
      let web: { url: string; close(): Promise<void> } | undefined;
      if (config.web) {
        const { startWebServer } = await import('../../web/server.js');
        const server = await startWebServer({ config, queue, runtime, logger });
        shutdown.add('web', () => server.close());
        web = server;
      }
      // running tasks get half the deadline to finish; the rest is for giving tasks back and closing
      const pool =
        opts.workers === false
          ? undefined
          : await startWorkers({
              queue,
              config,
              logger,
              registry: runtime.handlers,
              drainTimeoutMs: config.drainTimeoutMs / 2,
            });
      if (pool) shutdown.add('workers', () => pool.stop());
      const channels = [...runtime.adapters.keys()].filter((n) => n !== 'web');
      process.stderr.write(
        `June is running.${web ? ` Open ${web.url}` : ''}` +
          `${channels.length ? ` Channels: ${channels.join(', ')}.` : ' No chat channel token is configured.'}` +
          `${pool ? ` Workers: ${pool.capabilities.join(', ')} × ${pool.concurrency}.` : ''}\n`,
      );
      // until an owner exists, the setup code lets them in whatever strangers do (never logged)
      if (channels.length) process.stderr.write(setupCodeNotice(runtime.access));
      // warm the models in the background (retried while it fails) so the first message is answered
      // quickly; /ready reports this warm-up and never starts one
      runtime.pipeline.keepWarm((err) => logger.warn({ err: String(err) }, 'models not ready yet'));
      await shutdown.done;
    });
}
