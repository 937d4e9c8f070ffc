/**
 * The one node-llama-cpp runtime (`Llama`) of the process.
 *
 * llama.cpp's log callback is process-global, so two `Llama` instances fight over it (logs of the second go
 * raw to stderr once the first is disposed), and each `getLlama()` costs ~0.6 s of binding setup. So every
 * embedded model shares one instance, created on first use and kept until the process exits (it holds no
 * handle that keeps the event loop alive).
 *
 * It only ever uses the prebuilt CPU binary that ships with the package: `build: 'never'` and
 * `skipDownload: true` make a missing binary an error instead of an attempt to fetch and compile llama.cpp.
 */
import type { Llama, LlamaLogLevel } from 'node-llama-cpp';

import { ProviderError } from '../../util/errors.js';
import { getLogger } from '../../observability/logger.js';

export const LLAMA_PROVIDER_NAME = 'llama';

let shared: Promise<Llama> | undefined;

/** Routes llama.cpp's own log lines into June's logger; its errors are also turned into thrown errors. */
function logLlamaCpp(level: LlamaLogLevel, message: string): void {
  const log = getLogger().child({ component: 'llama.cpp' });
  const text = message.trim();
  if (!text) return;
  if (level === 'fatal' || level === 'error' || level === 'warn') log.warn(text);
  else log.debug(text);
}

export function getSharedLlama(): Promise<Llama> {
  shared ??= (async () => {
    const { getLlama } = await import('node-llama-cpp');
    return getLlama({
      gpu: false,
      build: 'never',
      skipDownload: true,
      usePrebuiltBinaries: true,
      progressLogs: false,
      logLevel: 'warn' as LlamaLogLevel,
      logger: logLlamaCpp,
    });
  })().catch((err: unknown) => {
    shared = undefined; // a later attempt may succeed (e.g. after reinstalling the package)
    throw new ProviderError(
      LLAMA_PROVIDER_NAME,
      `cannot start llama.cpp: ${(err as Error)?.message ?? err}`,
      {
        code: 'provider_unavailable',
        userMessage: 'The built-in language model engine could not start on this machine.',
        cause: err,
      },
    );
  });
  return shared;
}
