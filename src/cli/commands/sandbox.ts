/**
 * `june sandbox exec [--workspace DIR] [--timeout S] [--memory MB] [--network] [--json] -- CMD ARGS…`:
 * runs one command in the configured sandbox (JUNE_SANDBOX). Exits with the command's code, 124 after a
 * timeout and 137 when killed for a limit; `--json` prints the whole ExecResult.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { createSandbox } from '../../sandbox/factory.js';
import { cliContext } from '../context.js';

interface ExecOpts {
  workspace?: string;
  timeout?: string;
  memory?: string;
  network?: boolean;
  json?: boolean;
}

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${value}"`);
  return n;
}

export function register(program: Command): void {
  const sandbox = program.command('sandbox').description('Run commands in the sandbox the coding agent uses');
  sandbox
    .command('exec')
    .description('Run one command in the configured sandbox (JUNE_SANDBOX); put it after --')
    .argument('<command...>', 'the command and its arguments')
    .option('-w, --workspace <dir>', 'directory mounted read-write as /workspace (default: a new empty one)')
    .option('-t, --timeout <seconds>', 'wall-clock limit')
    .option('-m, --memory <mb>', 'memory limit in MB')
    .option('--network', 'allow network access (default: none at all)')
    .option('--json', 'print {exitCode, stdout, stderr, timedOut, killedBy, wallMs, cpuMs, maxRssKb}')
    .action(async (command: string[], opts: ExecOpts) => {
      const { config, logger } = cliContext();
      const timeoutS = positive('--timeout', opts.timeout);
      const memoryMb = positive('--memory', opts.memory);
      let workspace = opts.workspace;
      let temporary = false;
      if (workspace) {
        if (!fs.statSync(workspace, { throwIfNoEntry: false })?.isDirectory())
          throw new Error(`--workspace ${workspace} is not a directory`);
      } else {
        workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'june-exec-'));
        temporary = true;
      }
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      try {
        const result = await createSandbox(config, logger).exec(command, {
          workspace,
          network: opts.network ?? false,
          signal: controller.signal,
          ...(timeoutS !== undefined ? { timeoutMs: Math.round(timeoutS * 1000) } : {}),
          ...(memoryMb !== undefined ? { memoryMb: Math.round(memoryMb) } : {}),
        });
        if (opts.json) process.stdout.write(JSON.stringify(result) + '\n');
        else {
          process.stdout.write(result.stdout);
          process.stderr.write(result.stderr);
          if (result.killedBy) process.stderr.write(`june: command stopped: ${result.killedBy}\n`);
        }
        process.exitCode = result.exitCode;
      } finally {
        process.off('SIGINT', onSigint);
        if (temporary) fs.rmSync(workspace, { recursive: true, force: true });
      }
    });
}
