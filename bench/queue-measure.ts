/**
 * The measuring loop of bench/queue.bench.ts: a throughput burst and a steady-rate latency run against
 * anything that can enqueue a task and report its completion.
 */
const WINDOW = 64;
const LATENCY_RATE = 200; // tasks/s during the latency run
export { WINDOW, LATENCY_RATE };

/** Something that runs tasks: enqueue a task carrying index i; `done(i)` is called on its completion. */
export interface Runner {
  enqueue(i: number): Promise<void>;
  close(): Promise<void>;
}

export type MakeRunner = (concurrency: number, done: (i: number) => void) => Promise<Runner>;

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** CPU seconds Redis has used so far (user + system), from INFO. */
export type RedisCpu = () => Promise<number>;

export async function measure(
  make: MakeRunner,
  concurrency: number,
  tasks: number,
  latencyTasks: number,
  redisCpu: RedisCpu,
) {
  // latencyTasks = 0: throughput only
  let completed = 0;
  let target = 0;
  let onTarget: () => void = () => {};
  const startedAt = new Map<number, number>();
  const latencies: number[] = [];
  const runner = await make(concurrency, (i) => {
    completed++;
    const t0 = startedAt.get(i);
    if (t0 !== undefined) latencies.push(performance.now() - t0);
    if (completed === target) onTarget();
  });
  const until = (n: number) =>
    new Promise<void>((resolve) => {
      target = n;
      onTarget = resolve;
      if (completed >= n) resolve();
    });

  // warm-up: JIT, connections, scripts
  let next = 0;
  const burst = async (count: number) => {
    const end = next + count;
    const lanes = Array.from({ length: WINDOW }, async () => {
      while (next < end) await runner.enqueue(next++);
    });
    await Promise.all(lanes);
  };
  const warm = Math.max(50, Math.round(tasks / 10));
  const warmed = until(warm);
  await burst(warm);
  await warmed;

  // throughput, and the CPU time spent on it by this process and by Redis
  const r0 = await redisCpu();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const allDone = until(warm + tasks);
  await burst(tasks);
  await allDone;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const nodeCpuUs = (cpu.user + cpu.system) / tasks;
  const redisCpuUs = (((await redisCpu()) - r0) * 1e6) / tasks;

  // latency at a steady rate
  const latencyDone = until(warm + tasks + latencyTasks);
  const gap = 1000 / LATENCY_RATE;
  const l0 = performance.now();
  for (let k = 0; k < latencyTasks; k++) {
    const i = next++;
    const due = l0 + k * gap;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    startedAt.set(i, performance.now());
    void runner.enqueue(i);
  }
  await latencyDone;
  await runner.close();
  return { seconds, latencies, nodeCpuUs, redisCpuUs };
}
