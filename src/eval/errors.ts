/** The one error class of `june eval`: bad input files, missing datasets, a sandbox that cannot start. */
import { JuneError } from '../util/errors.js';

export type EvalErrorCode =
  'eval_bad_input' | 'eval_bad_dataset' | 'eval_dataset_offline' | 'eval_sandbox' | 'eval_bad_run';

export class EvalError extends JuneError {
  declare readonly code: EvalErrorCode;
  constructor(code: EvalErrorCode, message: string, cause?: unknown) {
    super(message, { code, userMessage: message, retryable: false, cause });
  }
}
