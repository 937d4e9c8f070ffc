#!/usr/bin/env node
/**
 * The `june` command line. Each command lives in ./commands/<name>.ts and exports `register(program)`.
 * Errors end the process with a non-zero code and a one-line reason (never a stack trace unless
 * JUNE_LOG_LEVEL=debug).
 */
import { Command } from 'commander';
import { runCli } from './run.js';
// ---- command modules (one import + one register line each)
import * as config from './commands/config.js';

const program = new Command('june')
  .description('June: a self-hosted, voice-first AI assistant')
  .version('0.1.0')
  .showHelpAfterError();

config.register(program);

await runCli(program, process.argv);
