/**
 * Prometheus metrics of the task queue, per capability, on prom-client's default registry unless a caller
 * passes its own. Gauges are read from the queue's stats at scrape time, so every worker process reports
 * the same (global) numbers: aggregate them with max(), not sum(). Counters and histograms count what this
 * process's workers did: aggregate those with sum().
 */
import http from 'node:http';
import { Gauge, register as defaultRegistry, type Registry } from 'prom-client';
import { LeanCounter, LeanHistogram } from './metric-series.js';
import type { CapabilityStats, FailOutcome, Task, TaskQueue, WorkerInfo } from './types.js';

const waitBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const runBuckets = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

/** Workers re-register every 5 s at most; one silent for a minute is gone. */
const LIVE_WORKER_MS = 60_000;

type GaugeKey = 'new' | 'delayed' | 'active' | 'retrying' | 'dead' | 'waitingChildren';

export interface TaskMetrics {
  registry: Registry;
  /** A task's first attempt started: time from enqueue to start. */
  observeStart(task: Task, attempt: number, startedAt: number): void;
  /** An attempt ended. */
  observeEnd(capability: string, outcome: 'completed' | FailOutcome | 'lost', runSeconds: number): void;
  /** Reports this queue's stats in the gauges; returns a function that stops it. */
  watchQueue(queue: TaskQueue): () => void;
}

const cache = new WeakMap<Registry, TaskMetrics>();

export function taskMetrics(registry: Registry = defaultRegistry): TaskMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  // watchers per queue: a web server and a worker pool in one process may both watch the same queue
  const queues = new Map<TaskQueue, number>();
  // one stats read per scrape, shared by all gauges
  let snapshot: { at: number; stats: Promise<CapabilityStats[]> } | undefined;
  const readStats = (): Promise<CapabilityStats[]> => {
    if (!snapshot || Date.now() - snapshot.at > 1000) {
      const stats = Promise.all(
        [...queues.keys()].map((q) => q.stats().catch(() => [] as CapabilityStats[])),
      ).then((all) => all.flat());
      snapshot = { at: Date.now(), stats };
    }
    return snapshot.stats;
  };
  const gauge = (name: string, key: GaugeKey, help: string) =>
    new Gauge({
      name: `june_tasks_${name}`,
      help,
      labelNames: ['capability'],
      registers,
      async collect() {
        this.reset();
        for (const s of await readStats()) this.inc({ capability: s.capability }, s[key]);
      },
    });
  gauge('new', 'new', 'Tasks waiting to run that are due (never counts running tasks)');
  gauge('delayed', 'delayed', 'Tasks scheduled for later');
  gauge('active', 'active', 'Tasks running now');
  gauge('retrying', 'retrying', 'Tasks that failed and wait for another attempt');
  gauge('dead', 'dead', 'Tasks in the dead-letter queue');
  gauge('waiting_children', 'waitingChildren', 'Parent tasks waiting for their children');

  // live workers per capability, from the queue's worker registry (alerts: work but no worker)
  let workersSnapshot: { at: number; workers: Promise<WorkerInfo[]> } | undefined;
  const liveWorkers = async (): Promise<WorkerInfo[]> => {
    if (!workersSnapshot || Date.now() - workersSnapshot.at > 1000) {
      const lists = [...queues.keys()].map((q) => q.listWorkers().catch(() => [] as WorkerInfo[]));
      workersSnapshot = { at: Date.now(), workers: Promise.all(lists).then((all) => all.flat()) };
    }
    const seen = new Set<string>();
    // two watchers of one queue list the same workers; a killed worker stays listed for an hour
    return (await workersSnapshot.workers).filter((w) => {
      if (seen.has(w.id) || Date.now() - w.lastHeartbeatAt > LIVE_WORKER_MS) return false;
      seen.add(w.id);
      return true;
    });
  };
  new Gauge({
    name: 'june_workers',
    help: 'Live workers (heartbeat within their lease) serving each capability',
    labelNames: ['capability'],
    registers,
    async collect() {
      const workers = await liveWorkers();
      this.reset();
      for (const w of workers) for (const capability of w.capabilities) this.inc({ capability });
    },
  });
  new Gauge({
    name: 'june_circuit_open',
    help: 'Live workers that found this provider down and paused its capabilities (0: every one closed)',
    labelNames: ['provider'],
    registers,
    async collect() {
      const workers = await liveWorkers();
      this.reset();
      for (const w of workers)
        for (const c of w.circuits ?? []) this.inc({ provider: c.provider }, c.state === 'closed' ? 0 : 1);
    },
  });

  const completed = new LeanCounter(
    'june_tasks_completed_total',
    'Tasks completed by this process',
    ['capability'],
    registry,
  );
  const failed = new LeanCounter(
    'june_tasks_failed_total',
    'Failed attempts in this process, by what happened next (retrying, dead, cancelled, lost)',
    ['capability', 'outcome'],
    registry,
  );
  const wait = new LeanHistogram(
    'june_tasks_wait_seconds',
    'Time from enqueue to the start of the first attempt',
    'capability',
    waitBuckets,
    registry,
  );
  const run = new LeanHistogram(
    'june_tasks_run_seconds',
    'Duration of attempts, whatever their outcome',
    'capability',
    runBuckets,
    registry,
  );

  const m: TaskMetrics = {
    registry,
    observeStart(task, attempt, startedAt) {
      if (attempt === 1) wait.observe(task.capability, Math.max(0, startedAt - task.createdAt) / 1000);
    },
    observeEnd(capability, outcome, runSeconds) {
      run.observe(capability, runSeconds);
      if (outcome === 'completed') completed.inc(capability);
      else failed.inc(capability, outcome);
    },
    watchQueue(queue) {
      queues.set(queue, (queues.get(queue) ?? 0) + 1);
      snapshot = undefined;
      let watching = true;
      return () => {
        if (!watching) return;
        watching = false;
        const n = (queues.get(queue) ?? 1) - 1;
        if (n > 0) queues.set(queue, n);
        else queues.delete(queue);
        snapshot = undefined;
      };
    },
  };
  cache.set(registry, m);
  return m;
}

/** Serves GET /metrics for Prometheus (and KEDA's Prometheus trigger, through Prometheus). */
export async function serveMetrics(port: number, registry: Registry = defaultRegistry, host = '0.0.0.0') {
  const server = http.createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
