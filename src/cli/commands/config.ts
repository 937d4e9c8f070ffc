import type { Command } from 'commander';
import { loadConfig, redactConfig } from '../../config/load.js';
import { configKeys, configSchema, envNameFor } from '../../config/schema.js';

export function register(program: Command): void {
  program
    .command('config')
    .description('Print the effective configuration (secrets redacted)')
    .option('--json', 'print as JSON')
    .option('--docs', 'list every option with its environment variable and description')
    .action((opts: { json?: boolean; docs?: boolean }) => {
      if (opts.docs) {
        for (const [key, schema] of Object.entries(configSchema.shape)) {
          process.stdout.write(
            `${envNameFor(key).padEnd(30)} ${key.padEnd(24)} ${schema.description ?? ''}\n`,
          );
        }
        return;
      }
      const config = redactConfig(loadConfig());
      if (opts.json) {
        process.stdout.write(JSON.stringify(config, null, 2) + '\n');
        return;
      }
      for (const k of configKeys) {
        const v = config[k];
        process.stdout.write(
          `${envNameFor(k).padEnd(30)} ${v === undefined ? '(unset)' : JSON.stringify(v)}\n`,
        );
      }
    });
}
