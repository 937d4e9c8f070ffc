import type { Command } from 'commander';
import { AudioError, toJuneError } from '../util/errors.js';
import { redact } from '../util/redact.js';
import { CliUsageError } from './usage-error.js';

/**
 * Parses and runs the CLI; maps any error to a one-line reason on stderr and an exit code: 2 for bad
 * arguments (commander's and CliUsageError), 78 for a configuration error, 1 otherwise.
 */
export async function runCli(program: Command, argv: string[]): Promise<void> {
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      // help and version exit 0; usage errors already printed by commander
      process.exitCode = code === 'commander.helpDisplayed' || code === 'commander.version' ? 0 : 2;
      return;
    }
    const e = toJuneError(err);
    // bad audio is the user's own file: say what is wrong with it in their words, not ffmpeg's
    const reason = e instanceof AudioError ? e.userMessage : e.message;
    process.stderr.write(`june: ${redact(reason).replace(/\s*\n\s*/g, ' ')}\n`);
    if (process.env.JUNE_LOG_LEVEL === 'debug' && err instanceof Error)
      process.stderr.write(`${redact(err.stack ?? '')}\n`);
    process.exitCode = e.code === 'config_invalid' ? 78 : e instanceof CliUsageError ? 2 : 1;
  }
}
