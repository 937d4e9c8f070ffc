/**
 * Workers: `startWorkers` runs N task slots in this process for a set of capabilities. `june worker` runs
 * it standalone; `june start` runs it in-process. Each slot claims the oldest runnable task of its
 * capabilities, runs its handler, and claims the next. Stopping drains: no new claims, running tasks get
 * `drainTimeoutMs` to finish, and the rest are given back to the queue without losing an attempt.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { loadConfig } from '../config/load.js';
import type { JuneConfig } from '../config/schema.js';
import { getLogger, type Logger } from '../observability/logger.js';
import { sleep } from '../util/abort.js';
import { CircuitBreakers, type CircuitSettings, type CircuitState } from './circuit.js';
import type { HandlerRegistry } from './handlers.js';
import { taskMetrics, type TaskMetrics } from './metrics.js';
import { openTaskQueue } from './open-queue.js';
import { runLease, type RunEnv, type RunningTask, type SettledOutcome } from './run-task.js';
import type { Lease, Task, TaskQueue, WorkerInfo } from './types.js';

export interface StartWorkersOptions {
  /** The queue to work on; default: the configured one (closed again when the workers stop). */
  queue?: TaskQueue;
  /** Config for the defaults below; default: loadConfig(). */
  config?: JuneConfig;
  /** Default: config.workerCapabilities. */
  capabilities?: string[];
  /** Tasks run at once, over all capabilities. Default: config.workerConcurrency. */
  concurrency?: number;
  /** The handlers to run, by task kind; the capabilities they serve are the default ones. */
  registry: HandlerRegistry;
  workerId?: string;
  /** Must match the queue's lease (default: config.taskLeaseMs); heartbeats go every third of it. */
  leaseMs?: number;
  /** Longest idle wait between looks for work (default 1 s; new work usually wakes slots at once). */
  idlePollMs?: number;
  /** How long a drain waits for running tasks (default 30 s). */
  drainTimeoutMs?: number;
  /** Circuit breaker timing; default: the config's circuitOpenMs, circuitMaxOpenMs, providerOutageMaxMs. */
  circuits?: Partial<CircuitSettings>;
  logger?: Logger;
  /** Metrics to record into; default: the default prom-client registry's. `false`: none. */
  metrics?: TaskMetrics | false;
  /** Called after each attempt ends (tests and benchmarks use it to see progress). */
  onSettled?: (task: Task, outcome: SettledOutcome) => void;
}

export interface WorkerPool {
  readonly id: string;
  readonly queue: TaskQueue;
  readonly capabilities: readonly string[];
  readonly concurrency: number;
  activeTaskIds(): string[];
  /** The circuit breakers of the providers this pool has seen down. */
  circuits(): CircuitState[];
  /** Drains and stops; resolves when every slot has stopped. Idempotent. */
  stop(): Promise<void>;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const n = by % items.length;
  return [...items.slice(n), ...items.slice(0, n)];
}

export async function startWorkers(options: StartWorkersOptions): Promise<WorkerPool> {
  const config = options.config ?? (options.queue ? undefined : loadConfig());
  const logger = (options.logger ?? getLogger()).child({ component: 'tasks' });
  const registry = options.registry;
  const wanted = options.capabilities ?? config?.workerCapabilities ?? registry.capabilities();
  // a worker without a handler for a capability would claim its tasks only to fail them: skip it
  const served = new Set(registry.capabilities());
  const capabilities = wanted.filter((c) => served.has(c));
  const missing = wanted.filter((c) => !served.has(c));
  if (missing.length)
    logger.warn(
      { capabilities: missing },
      'no task handler is registered for these capabilities; not serving them',
    );
  if (capabilities.length === 0)
    throw new Error(
      `no task handlers for the capabilities ${wanted.join(', ') || '(none)'}; registered: ${[...served].join(', ') || 'none'}`,
    );
  const concurrency = options.concurrency ?? config?.workerConcurrency ?? 2;
  const leaseMs = options.leaseMs ?? config?.taskLeaseMs ?? 30_000;
  const ownsQueue = !options.queue;
  const queue = options.queue ?? (await openTaskQueue(config!, { logger }));
  const id = options.workerId ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const metrics = options.metrics === false ? undefined : (options.metrics ?? taskMetrics());
  const unwatch = metrics?.watchQueue(queue);
  const idlePollMs = options.idlePollMs ?? 1000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
  const startedAt = Date.now();

  // Tasks that wait for other tasks (a plan's root) may fill every slot but one when the pool serves other
  // capabilities too: otherwise two such tasks could take both slots and wait for work nobody runs.
  const waiting = new Set(registry.waitingCapabilities().filter((c) => capabilities.includes(c)));
  const waitingCap =
    waiting.size && capabilities.some((c) => !waiting.has(c)) ? Math.max(1, concurrency - 1) : Infinity;
  /** What each slot holds or is claiming: a capability, or CLAIMING_WAITING while it may claim one of those. */
  const slotHolds = new Map<number, string>();
  const CLAIMING_WAITING = '\u0000claiming';
  const waitingSlotsBesides = (index: number): number =>
    [...slotHolds].filter(([i, c]) => i !== index && (c === CLAIMING_WAITING || waiting.has(c))).length;
  /** The capabilities this slot may claim now. */
  const claimableBy = (index: number, caps: readonly string[]): string[] =>
    waitingSlotsBesides(index) >= waitingCap ? caps.filter((c) => !waiting.has(c)) : [...caps];

  const stopController = new AbortController();
  const running = new Map<string, RunningTask>();
  const circuits = new CircuitBreakers(
    {
      openMs: options.circuits?.openMs ?? config?.circuitOpenMs ?? 2000,
      maxOpenMs: options.circuits?.maxOpenMs ?? config?.circuitMaxOpenMs ?? 15_000,
      outageMaxMs: options.circuits?.outageMaxMs ?? config?.providerOutageMaxMs ?? 300_000,
    },
    (state) => {
      const level = state.state === 'open' ? 'warn' : 'info';
      env.logger[level]({ circuit: state }, `provider ${state.provider}: circuit ${state.state}`);
      // the registry shows it at once (`june workers ls`, the admin API), not at the next maintenance round
      void queue.registerWorker(info()).catch(() => undefined);
    },
  );
  const env: RunEnv = {
    queue,
    registry,
    workerId: id,
    logger: logger.child({ workerId: id }),
    metrics,
    onSettled: options.onSettled,
    stopping: () => stopController.signal.aborted,
    running,
    circuits,
  };

  const info = (): WorkerInfo => ({
    id,
    capabilities: [...capabilities],
    concurrency,
    activeTaskIds: [...running.keys()],
    load: running.size / concurrency,
    host: os.hostname(),
    pid: process.pid,
    startedAt,
    lastHeartbeatAt: Date.now(),
    ...(circuits.states().length ? { circuits: circuits.states() } : {}),
  });

  /** Waits for work of the capabilities not paused, or until a paused one may be probed. */
  const idle = async (index: number): Promise<void> => {
    const probeIn = circuits.nextProbeInMs();
    const maxMs = probeIn === undefined ? idlePollMs : Math.min(idlePollMs, probeIn);
    const awake = claimableBy(index, capabilities).filter((c) => !circuits.paused(c));
    if (awake.length) await queue.waitForWork(awake, maxMs, stopController.signal);
    else await sleep(maxMs, stopController.signal).catch(() => undefined);
  };

  const slot = async (index: number): Promise<void> => {
    let lease: Lease | undefined;
    let turn = index;
    let errorDelay = 100;
    let drained = false;
    while (!stopController.signal.aborted) {
      try {
        if (!lease) {
          // the queue just said it has nothing (or every capability is paused): wait first
          if (drained) await idle(index);
          const offered = circuits.claimable(claimableBy(index, rotate(capabilities, turn++)));
          slotHolds.set(index, offered.some((c) => waiting.has(c)) ? CLAIMING_WAITING : '');
          lease = offered.length ? await queue.claim(offered, id) : undefined;
          circuits.claimed(offered, lease?.task.capability);
          slotHolds.set(index, lease?.task.capability ?? '');
          drained = !lease;
          if (!lease) continue;
        }
        const next = await runLease(env, lease);
        drained = next === 'drained';
        lease = next === 'drained' ? undefined : next;
        slotHolds.set(index, lease?.task.capability ?? '');
        errorDelay = 100;
      } catch (err) {
        // the queue is unreachable (Redis restarting, database locked): back off and try again
        env.logger.warn({ err }, 'task queue error; retrying');
        lease = undefined;
        slotHolds.set(index, '');
        await sleep(errorDelay, stopController.signal).catch(() => undefined);
        errorDelay = Math.min(errorDelay * 2, 5000);
      }
    }
    // a task claimed together with a completion just as the drain began goes back untouched
    if (lease) await queue.release(lease).catch(() => undefined);
  };

  const maintenance = async (): Promise<void> => {
    const every = Math.max(100, Math.min(5000, Math.floor(leaseMs / 2)));
    while (!stopController.signal.aborted) {
      try {
        await queue.recoverExpired(capabilities);
        await queue.registerWorker(info());
      } catch (err) {
        env.logger.warn({ err }, 'task maintenance failed; retrying');
      }
      await sleep(every, stopController.signal).catch(() => undefined);
    }
  };

  // one timer beats every running task about three times per lease
  const heartbeatMs = Math.max(50, Math.floor(leaseMs / 3));
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const r of running.values()) if (now - r.since >= heartbeatMs / 2) r.beat();
  }, heartbeatMs);

  await queue.registerWorker(info());
  const slots = Array.from({ length: concurrency }, (_, i) => slot(i));
  const upkeep = maintenance();
  const all = Promise.all([...slots, upkeep]).then(() => undefined);
  env.logger.info({ capabilities, concurrency, backend: queue.backend }, 'workers started');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      env.logger.info({ running: running.size }, 'workers draining');
      stopController.abort();
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), drainTimeoutMs).unref());
      if ((await Promise.race([all, timer])) === 'timeout') {
        env.logger.warn({ running: running.size }, 'drain timed out; giving running tasks back to the queue');
        for (const r of running.values()) r.abort('drain');
        await all;
      }
      clearInterval(ticker);
      await queue.unregisterWorker(id).catch(() => undefined);
      unwatch?.();
      if (ownsQueue) await queue.close();
      env.logger.info('workers stopped');
    })();
    return stopping;
  };

  return {
    id,
    queue,
    capabilities,
    concurrency,
    activeTaskIds: () => [...running.keys()],
    circuits: () => circuits.states(),
    stop,
  };
}
