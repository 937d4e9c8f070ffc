/**
 * A command was given arguments it cannot use (a bad number, an unknown state, two targets at once). The
 * CLI prints its message and exits with 2, as for commander's own usage errors; it is never a task error.
 */
import { JuneError } from '../util/errors.js';

export class CliUsageError extends JuneError {
  constructor(message: string) {
    super(message, { code: 'cli_usage', retryable: false });
  }
}
