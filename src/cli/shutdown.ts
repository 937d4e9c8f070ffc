/**
 * Bounded shutdown for the long-running commands (`june start`, `june worker`). The first SIGTERM or
 * SIGINT runs the stop steps, last started first stopped; the process then exits, whatever timers or
 * sockets a library still holds (a Discord gateway reconnecting, a Telegram long poll, an LLM request).
 * If the steps have not finished when the drain deadline passes, the process exits anyway and says which
 * were still running: tasks not yet given back keep their lease, which expires, and another worker (or
 * the next start) runs them, so nothing accepted is lost. A second signal exits at once.
 *
 * The handlers are installed before anything starts, so a signal during a slow start is bounded too.
 */
import type { Logger } from '../observability/logger.js';
import { shutdownTracing } from '../observability/tracing.js';

export interface ShutdownOptions {
  /** The drain deadline: how long the steps may take in all. */
  deadlineMs: number;
  logger: Logger;
  /** Ends the process; tests pass their own. */
  exit?: (code: number) => void;
}

export interface Shutdown {
  /** Adds a stop step. Steps run one after the other, in reverse order of adding. */
  add(name: string, stop: () => Promise<void>): void;
  /** Starts the shutdown as a signal would (a command that ends by itself). */
  begin(reason: string): void;
  /** Never resolves: the process exits when the shutdown is over. */
  readonly done: Promise<never>;
  /** Removes the signal handlers (tests). */
  dispose(): void;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export function shutdownOnSignals(options: ShutdownOptions): Shutdown {
  const { deadlineMs, logger } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const steps: { name: string; stop: () => Promise<void> }[] = [];
  let running: string | undefined;
  let begun = false;

  const run = async () => {
    for (const step of steps.slice().reverse()) {
      running = step.name;
      try {
        await step.stop();
      } catch (err) {
        logger.warn({ err, step: step.name }, 'shutdown step failed; going on');
      }
    }
    // last: the spans of the final messages, still batched (process.exit skips beforeExit)
    running = 'tracing';
    await shutdownTracing().catch((err: unknown) =>
      logger.warn({ err: String(err) }, 'could not send the last spans'),
    );
    running = undefined;
  };

  const begin = (reason: string) => {
    if (begun) {
      logger.warn({ reason }, 'second signal: exiting now');
      exit(130);
      return;
    }
    begun = true;
    logger.info({ reason, deadlineMs }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error(
        { deadlineMs, stillStopping: running },
        'shutdown deadline passed; exiting (unfinished tasks return to the queue when their lease expires)',
      );
      exit(1);
    }, deadlineMs);
    void run().then(() => {
      clearTimeout(deadline);
      logger.info('stopped');
      exit(0);
    });
  };

  const onSignal = (signal: NodeJS.Signals) => begin(signal);
  for (const s of SIGNALS) process.on(s, onSignal);

  return {
    add: (name, stop) => void steps.push({ name, stop }),
    begin,
    done: new Promise<never>(() => undefined),
    dispose: () => {
      for (const s of SIGNALS) process.off(s, onSignal);
    },
  };
}
