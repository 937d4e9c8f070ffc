/**
 * `june start` (what `npm start` runs): the task queue, in-process workers, every chat channel whose token
 * is configured, and the web page + HTTP API. SIGTERM/SIGINT drain running tasks before exiting.
 */
import type { Command } from 'commander';
import { startChannelRuntime } from '../../channels/runtime.js';
import { openTaskQueue } from '../../tasks/open-queue.js';
import { drainOnSignals, startWorkers } from '../../tasks/runtime.js';
import { cliContext } from '../context.js';

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
      const queue = await openTaskQueue(config, { logger });
      const runtime = await startChannelRuntime({ config, queue, logger });
      let web: { url: string; close(): Promise<void> } | undefined;
      if (config.web) {
        const { startWebServer } = await import('../../web/server.js');
        web = await startWebServer({ config, queue, runtime, logger });
      }
      const pool = opts.workers === false ? undefined : await startWorkers({ queue, config, logger });
      const channels = [...runtime.adapters.keys()].filter((n) => n !== 'web');
      process.stderr.write(
        `June is running.${web ? ` Open ${web.url}` : ''}` +
          `${channels.length ? ` Channels: ${channels.join(', ')}.` : ' No chat channel token is configured.'}` +
          `${pool ? ` Workers: ${pool.capabilities.join(', ')} × ${pool.concurrency}.` : ''}\n`,
      );
      // until an owner exists, the setup code lets them in whatever strangers do (never logged)
      const setupCode = channels.length ? runtime.access.setupCode() : undefined;
      if (setupCode)
        process.stderr.write(
          `No owner yet: send ${setupCode} to your bot (or /start ${setupCode}) to become its owner.\n`,
        );
      // warm the models in the background so the first message is answered quickly; /ready reports it
      runtime.pipeline.keepWarm((err) => logger.warn({ err: String(err) }, 'models not ready yet'));
      await new Promise<void>((resolve) => {
        if (pool) drainOnSignals(pool, () => resolve());
        else for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => resolve());
      });
      await web?.close();
      await runtime.stop();
      await queue.close();
    });
}
