import type { Command } from 'commander';
import { listModels, modelPath, pullModel } from '../../models/manager.js';
import { progressCallback } from '../../providers/factory.js';
import { cliContext } from '../context.js';

const mb = (n: number | undefined) => (n === undefined ? '?' : `${(n / 1e6).toFixed(0)} MB`);

export function register(program: Command): void {
  const models = program.command('models').description('Manage the model cache (JUNE_MODELS_DIR)');

  models
    .command('list')
    .description('List known models and whether they are downloaded')
    .option('--json', 'as JSON')
    .action(async (opts: { json?: boolean }) => {
      const { config } = cliContext();
      const list = await listModels(config);
      if (opts.json) {
        process.stdout.write(JSON.stringify(list, null, 2) + '\n');
        return;
      }
      process.stdout.write(`models dir: ${config.modelsDir}\n`);
      for (const m of list) {
        process.stdout.write(
          `${m.cached ? '✔' : ' '} ${m.id.padEnd(28)} ${m.kind.padEnd(10)} ${mb(m.sizeBytes).padStart(8)}  ${m.description}\n`,
        );
      }
    });

  models
    .command('pull')
    .description('Download a model into the cache (resumes an interrupted download)')
    .argument('<id>', 'model id from `june models list`')
    .action(async (id: string) => {
      const { config, logger } = cliContext();
      const file = await pullModel(config, id, { onProgress: progressCallback(id), logger });
      process.stdout.write(`${file}\n`);
    });

  models
    .command('path')
    .description('Print the models directory, or where a model lives')
    .argument('[id]', 'model id')
    .action((id: string | undefined) => {
      const { config } = cliContext();
      process.stdout.write(`${id ? modelPath(config, id) : config.modelsDir}\n`);
    });
}
