/**
 * `npm run bench:queue`: enqueue → complete throughput and latency of the task queue with a no-op handler,
 * for the SQLite and BullMQ backends at concurrency 1 and 8, and raw BullMQ (a Queue and a Worker, no June
 * layer) on the same Redis as the reference. Producer and workers share one process, as in `june start`.
 *
 * - throughput: N tasks enqueued as fast as a 64-deep window allows while the workers run; tasks/s from the
 *   first enqueue to the last completion;
 * - latency: tasks enqueued at a steady rate well below capacity; enqueue call → completion, p50/p95.
 *
 * June's code is first compiled with tsc, as it runs in production (`node dist/…`), and BullMQ is published
 * JavaScript: both sides run compiled code. BENCH_FROM_SOURCE=1 runs June's TypeScript through tsx instead.
 *
 * Starts its own redis-server (no persistence, noeviction). Writes bench/results/queue.md and queue.json.
 * BENCH_SCALE=0.2 runs a quick, smaller version.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';
import type * as LoggerModule from '../src/observability/logger.js';
import type * as BullmqModule from '../src/tasks/bullmq/bullmq-queue.js';
import type * as HandlersModule from '../src/tasks/handlers.js';
import type * as MetricsModule from '../src/tasks/metrics.js';
import type * as RuntimeModule from '../src/tasks/runtime.js';
import type * as SqliteModule from '../src/tasks/sqlite/sqlite-queue.js';
// a test helper, not part of the build: from source
import { startRedisServer, type RedisServer } from '../src/tasks/testing/redis-server.js';
import type { Task, TaskQueue } from '../src/tasks/types.js';
import { machineInfo, machineMarkdown, percentile } from './machine.js';
import { LATENCY_RATE, WINDOW, measure, round, type MakeRunner, type RedisCpu } from './queue-measure.js';

const repo = path.resolve(import.meta.dirname, '..');
const FROM_SOURCE = process.env.BENCH_FROM_SOURCE === '1';

/** June's modules: compiled by tsc into node_modules/.cache (so packages still resolve), or the sources. */
async function loadJune() {
  let base = path.join(repo, 'src');
  let ext = '.ts';
  if (!FROM_SOURCE) {
    base = path.join(repo, 'node_modules/.cache/june-bench');
    process.stderr.write('compiling June with tsc… ');
    try {
      execFileSync(
        path.join(repo, 'node_modules/.bin/tsc'),
        ['-p', 'tsconfig.build.json', '--outDir', base],
        {
          cwd: repo,
          stdio: 'ignore',
        },
      );
    } catch {
      // tsc emits even with type errors elsewhere in the tree; the files this bench needs are checked below
    }
    if (!fs.existsSync(path.join(base, 'tasks/runtime.js'))) throw new Error('tsc produced no build');
    process.stderr.write('done\n');
    ext = '.js';
  }
  const load = <T>(file: string) => import(pathToFileURL(path.join(base, file + ext)).href) as Promise<T>;
  return {
    logger: await load<typeof LoggerModule>('observability/logger'),
    handlers: await load<typeof HandlersModule>('tasks/handlers'),
    metrics: await load<typeof MetricsModule>('tasks/metrics'),
    runtime: await load<typeof RuntimeModule>('tasks/runtime'),
    sqlite: await load<typeof SqliteModule>('tasks/sqlite/sqlite-queue'),
    bullmq: await load<typeof BullmqModule>('tasks/bullmq/bullmq-queue'),
  };
}
const june = await loadJune();
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
/**
 * What a chat message task carries. Payloads this size are stored by Redis as a hash table; tiny ones
 * (under 64 bytes per field) as a listpack, which would make jobs with short options look cheaper.
 */
const TEXT = 'telegram:123456789 m-4242: what will the weather be like in Lisbon tomorrow morning?';
const logger = june.logger.createLogger('silent');

type Backend = 'sqlite' | 'bullmq' | 'bullmq-raw';

interface Result {
  backend: Backend;
  variant: string;
  concurrency: number;
  tasks: number;
  /** tasks/s of each round */
  rounds: number[];
  /** median over the rounds */
  tasksPerSecond: number;
  latencyTasks: number;
  p50Ms: number;
  p95Ms: number;
  /** CPU time per task during the throughput runs (median): this process, and Redis */
  nodeCpuUsPerTask: number;
  redisCpuUsPerTask: number;
}

function ourRunner(open: () => Promise<TaskQueue>, conversationKeys: boolean): MakeRunner {
  return async (concurrency, done) => {
    const queue = await open();
    const registry = new june.handlers.HandlerRegistry();
    registry.register('noop', 'bench', async () => null);
    const pool = await june.runtime.startWorkers({
      queue,
      registry,
      capabilities: ['bench'],
      concurrency,
      leaseMs: 30_000,
      logger,
      metrics: june.metrics.taskMetrics(new Registry()),
      onSettled: (task: Task, outcome) => {
        if (outcome === 'completed') done((task.payload as { i: number }).i);
      },
    });
    return {
      enqueue: async (i) => {
        await queue.enqueue({
          kind: 'noop',
          capability: 'bench',
          payload: { i, text: TEXT },
          ...(conversationKeys ? { conversationKey: `c${i}` } : {}),
        });
      },
      close: async () => {
        await pool.stop();
        await queue.close();
      },
    };
  };
}

function rawBullmqRunner(redis: RedisServer, prefix: string): MakeRunner {
  return async (concurrency, done) => {
    const { Queue, Worker } = await import('bullmq');
    const { Redis } = await import('ioredis');
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('bench', { connection, prefix });
    const worker = new Worker('bench', async () => null, { connection, prefix, concurrency });
    worker.on('completed', (job) => done((job.data as { i: number }).i));
    await worker.waitUntilReady();
    return {
      enqueue: async (i) => {
        // the same retention our layer sets for completed jobs
        await queue.add('noop', { i, text: TEXT }, { removeOnComplete: { age: 86_400, count: 10_000 } });
      },
      close: async () => {
        await worker.close();
        await queue.close();
        connection.disconnect();
      },
    };
  };
}

async function main() {
  const machine = machineInfo();
  const redis = await startRedisServer();
  const { Redis } = await import('ioredis');
  const probe = new Redis(redis.url);
  const redisCpu: RedisCpu = async () => {
    const info = await probe.info('cpu');
    return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  };
  const redisVersion = execFileSync('/usr/bin/redis-server', ['--version'], { encoding: 'utf8' }).trim();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-bench-queue-'));
  const results: Result[] = [];
  let n = 0;

  const openSqlite = async () => {
    return june.sqlite.openSqliteQueue({ file: path.join(dir, `bench${++n}.db`) });
  };
  const openBullmq = async () => {
    return june.bullmq.openBullmqQueue({ url: redis.url, prefix: `bench${++n}`, logger });
  };

  const scenarios: Array<{ backend: Backend; variant: string; make: () => MakeRunner; only?: number[] }> = [
    { backend: 'bullmq-raw', variant: 'Queue.add + Worker', make: () => rawBullmqRunner(redis, `raw${++n}`) },
    { backend: 'bullmq', variant: 'June layer', make: () => ourRunner(openBullmq, false) },
    { backend: 'sqlite', variant: 'June layer', make: () => ourRunner(openSqlite, false) },
    {
      backend: 'bullmq',
      variant: 'June layer, a conversation key per task',
      make: () => ourRunner(openBullmq, true),
      only: [8],
    },
    {
      backend: 'sqlite',
      variant: 'June layer, a conversation key per task',
      make: () => ourRunner(openSqlite, true),
      only: [8],
    },
  ];

  // Rounds interleave the scenarios (in alternating order) so that load from other processes on a shared
  // machine hits all of them alike; each throughput is the median over the rounds.
  for (const concurrency of [1, 8]) {
    const active = scenarios.filter((s) => !s.only || s.only.includes(concurrency));
    const runs = new Map<
      (typeof scenarios)[number],
      { tps: number[]; latencies: number[]; nodeCpu: number[]; redisCpu: number[] }
    >();
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? active : [...active].reverse();
      for (const s of order) {
        const tasks = Math.round((concurrency === 1 ? 3000 : 6000) * SCALE);
        const latencyTasks = round === 0 ? Math.round(600 * SCALE) : 0;
        process.stderr.write(
          `round ${round + 1}: ${s.backend} (${s.variant}) at concurrency ${concurrency}… `,
        );
        const m = await measure(s.make(), concurrency, tasks, latencyTasks, redisCpu);
        const { seconds, latencies } = m;
        const entry = runs.get(s) ?? { tps: [], latencies: [], nodeCpu: [], redisCpu: [] };
        entry.nodeCpu.push(m.nodeCpuUs);
        entry.redisCpu.push(m.redisCpuUs);
        entry.tps.push(tasks / seconds);
        entry.latencies.push(...latencies);
        runs.set(s, entry);
        process.stderr.write(`${Math.round(tasks / seconds)} tasks/s\n`);
      }
    }
    for (const s of active) {
      const { tps, latencies, nodeCpu, redisCpu: redisCpus } = runs.get(s)!;
      const tasks = Math.round((concurrency === 1 ? 3000 : 6000) * SCALE);
      results.push({
        backend: s.backend,
        variant: s.variant,
        concurrency,
        tasks,
        rounds: tps.map((t) => Math.round(t)),
        tasksPerSecond: Math.round(percentile(tps, 50)),
        latencyTasks: latencies.length,
        p50Ms: round(percentile(latencies, 50), 2),
        p95Ms: round(percentile(latencies, 95), 2),
        nodeCpuUsPerTask: round(percentile(nodeCpu, 50)),
        redisCpuUsPerTask: s.backend === 'sqlite' ? 0 : round(percentile(redisCpus, 50)),
      });
    }
  }
  probe.disconnect();
  await redis.destroy();
  fs.rmSync(dir, { recursive: true, force: true });

  const find = (b: Backend, c: number) =>
    results.find((r) => r.backend === b && r.concurrency === c && !r.variant.includes('conversation'));
  const checks = [1, 8].flatMap((c) => {
    const ours = find('bullmq', c)!;
    const raw = find('bullmq-raw', c)!;
    const sqlite = find('sqlite', c)!;
    // each round ran the two back to back, under the same outside load: compare them round by round
    const ratio = percentile(
      ours.rounds.map((t, k) => t / raw.rounds[k]!),
      50,
    );
    const cpu = (r: Result) => r.nodeCpuUsPerTask + r.redisCpuUsPerTask;
    // throughput on a shared machine swings with other load; CPU per task does much less
    const cpuRatio = cpu(raw) / cpu(ours);
    return [
      {
        check: `bullmq layer ≥ 90% of raw BullMQ at concurrency ${c} (median of per-round ratios)`,
        value: `${Math.round(ratio * 100)}%`,
        pass: ratio >= 0.9,
      },
      {
        check: `(for reference) CPU per task, raw BullMQ ÷ bullmq layer, concurrency ${c}`,
        value: `${round(cpu(raw))} ÷ ${round(cpu(ours))} µs = ${Math.round(cpuRatio * 100)}%`,
        pass: null,
      },
      {
        check: `sqlite ≥ 1,000 tasks/s at concurrency ${c}`,
        value: `${sqlite.tasksPerSecond} tasks/s`,
        pass: sqlite.tasksPerSecond >= 1000,
      },
    ];
  });

  const out = path.join(repo, 'bench/results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, 'queue.json'),
    JSON.stringify(
      {
        machine,
        redis: redisVersion,
        scale: SCALE,
        rounds: ROUNDS,
        latencyRatePerSecond: LATENCY_RATE,
        results,
        checks,
      },
      null,
      2,
    ) + '\n',
  );
  const md = [
    '# Task queue benchmark',
    '',
    'Enqueue → complete with a no-op handler; producer and workers in one process. Throughput: tasks enqueued',
    `through a ${WINDOW}-deep window while the workers run, first enqueue to last completion; median of`,
    `${ROUNDS} interleaved rounds. Latency: tasks enqueued at ${LATENCY_RATE}/s (first round), enqueue call to`,
    'completion. Redis without persistence, on the same machine. Payload: a ~100-byte chat message.',
    FROM_SOURCE
      ? 'June ran from source through tsx.'
      : 'June ran compiled by tsc; BullMQ is published JavaScript.',
    '',
    machineMarkdown(machine),
    `- redis: ${redisVersion}`,
    `- scale: ${SCALE}`,
    '',
    '| backend | variant | concurrency | tasks per round | tasks/s (median) | rounds | p50 ms | p95 ms | node CPU µs/task | Redis CPU µs/task |',
    '| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |',
    ...results.map(
      (r) =>
        `| ${r.backend} | ${r.variant} | ${r.concurrency} | ${r.tasks} | ${r.tasksPerSecond} | ${r.rounds.join(', ')} | ${r.p50Ms} | ${r.p95Ms} | ${r.nodeCpuUsPerTask} | ${r.redisCpuUsPerTask || '-'} |`,
    ),
    '',
    '| target | measured | met |',
    '| --- | ---: | --- |',
    ...checks.map((c) => `| ${c.check} | ${c.value} | ${c.pass === null ? '' : c.pass ? 'yes' : 'NO'} |`),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(out, 'queue.md'), md);
  process.stdout.write(md);
}

await main();
