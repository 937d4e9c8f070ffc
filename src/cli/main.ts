#!/usr/bin/env node
/**
 * The `june` command line. Each command lives in ./commands/<name>.ts and exports `register(program)`.
 * Errors end the process with a non-zero code and a one-line reason (never a stack trace unless
 * JUNE_LOG_LEVEL=debug).
 */
import { Command } from 'commander';
import { runCli } from './run.js';
// ---- command modules (one import + one register line each)
import * as ask from './commands/ask.js';
import * as autoscale from './commands/autoscale.js';
import * as code from './commands/code.js';
import * as config from './commands/config.js';
import * as doctor from './commands/doctor.js';
import * as evalCmd from './commands/eval.js';
import * as models from './commands/models.js';
import * as pairing from './commands/pairing.js';
import * as sandbox from './commands/sandbox.js';
import * as speak from './commands/speak.js';
import * as start from './commands/start.js';
import * as tasks from './commands/tasks.js';
import * as transcribe from './commands/transcribe.js';
import * as worker from './commands/worker.js';
import * as workers from './commands/workers.js';

const program = new Command('june')
  .description('June: a self-hosted, voice-first AI assistant')
  .version('0.1.0')
  .showHelpAfterError();

start.register(program);
ask.register(program);
transcribe.register(program);
speak.register(program);
models.register(program);
doctor.register(program);
config.register(program);
pairing.register(program);
sandbox.register(program);
code.register(program);
tasks.register(program);
worker.register(program);
workers.register(program);
evalCmd.register(program);
autoscale.register(program);

await runCli(program, process.argv);
