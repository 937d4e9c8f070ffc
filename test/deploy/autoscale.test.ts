/**
 * `june autoscale` end to end: a real SQLite task queue with new, in-flight, retrying and dead tasks, its
 * real Prometheus gauges served the way June serves them, and a local server speaking the Docker Engine
 * API over a Unix socket with worker containers as deploy/compose.yaml makes them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { serveMetrics, taskMetrics } from '../../src/tasks/metrics.js';
import { openTaskQueue } from '../../src/tasks/open-queue.js';
import type { Lease, TaskQueue } from '../../src/tasks/types.js';
import { JuneError } from '../../src/util/errors.js';
import { startFakeDockerEngine, type FakeDockerEngine } from '../helpers/fake-docker-engine.js';
import { execJune } from '../helpers/june-cli.js';

let dir: string;
let queue: TaskQueue;
let metrics: { port: number; close(): Promise<void> };
let engine: FakeDockerEngine;
let metricsUrl: string;
const voiceLeases: Lease[] = [];

const worker = (name: string, capabilities: string, concurrency: number, state: 'running' | 'exited') =>
  engine.add({
    Name: name,
    State: state,
    Config: {
      Image: 'june:latest',
      Entrypoint: ['/usr/bin/tini', '--', 'june'],
      Cmd: [
        'worker',
        '--capabilities',
        capabilities,
        '--concurrency',
        String(concurrency),
        '--metrics-port',
        '9464',
      ],
      Env: [
        'JUNE_QUEUE=bullmq',
        'JUNE_REDIS_URL=redis://redis:6379',
        'JUNE_HEALTH_URL=http://127.0.0.1:9464/metrics',
      ],
      Labels: {
        'june.role': 'worker',
        'june.capabilities': capabilities,
        'com.docker.compose.project': 'june',
        'com.docker.compose.service': 'june-worker',
        'com.docker.compose.container-number': '1',
      },
      User: 'june:june',
      WorkingDir: '/app',
    },
    HostConfig: {
      Binds: ['june_june-data:/data:rw', 'june_june-models:/models:rw'],
      NetworkMode: 'june_default',
      RestartPolicy: { Name: 'unless-stopped' },
      PortBindings: {},
    },
    NetworkSettings: { Networks: { june_default: { Aliases: ['june-worker', name] } } },
  });

/**
 * Waits until the scrape shows `sample` (June's queue gauges read the queue at most once a second, so a
 * task enqueued right after a scrape shows up in the next snapshot, not at once).
 */
async function scrapeShows(sample: RegExp): Promise<void> {
  for (let i = 0; ; i++) {
    const text = await (await fetch(metricsUrl)).text();
    if (sample.test(text)) return;
    if (i > 300) throw new Error(`the metrics never showed ${sample}:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const autoscale = (...args: string[]) =>
  execJune(
    ['autoscale', '--once', '--metrics-url', metricsUrl, '--docker-socket', engine.socketPath, ...args],
    {
      cwd: dir,
      env: { ...process.env, JUNE_DATA_DIR: dir, JUNE_LOG_LEVEL: 'silent' },
    },
  );

const posts = () => engine.requests.filter((r) => r.method === 'POST');
const byName = (name: string) => [...engine.containers.values()].find((c) => c.Name === `/${name}`)!;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-autoscale-'));
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, taskMaxAttempts: 5 } });
  // retries wait an hour, so retrying tasks stay retrying during the test
  queue = await openTaskQueue(config, {
    logger: createLogger('silent'),
    retryBaseMs: 3_600_000,
    retryMaxMs: 3_600_000,
  });
  const enqueue = (capability: string, n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) => queue.enqueue({ kind: 'test', capability, payload: { i } })),
    );
  await enqueue('voice', 9);
  for (let i = 0; i < 2; i++) voiceLeases.push((await queue.claim(['voice'], 'w-voice'))!);
  await enqueue('chat', 3);
  for (let i = 0; i < 3; i++)
    await queue.fail((await queue.claim(['chat'], 'w-chat'))!, new Error('server busy'));
  await enqueue('code', 4);
  for (let i = 0; i < 4; i++)
    await queue.fail(
      (await queue.claim(['code'], 'w-code'))!,
      new JuneError('bad input', { code: 'task_invalid' }),
    );
  const registry = new Registry();
  taskMetrics(registry).watchQueue(queue);
  metrics = await serveMetrics(0, registry, '127.0.0.1');
  metricsUrl = `http://127.0.0.1:${metrics.port}/metrics`;

  engine = await startFakeDockerEngine(path.join(dir, 'docker.sock'));
  worker('june-june-worker-1', 'voice', 4, 'running');
  worker('june-worker-chat-1', 'chat', 2, 'running');
  worker('june-worker-code-1', 'code', 2, 'exited');
  engine.add({ Name: 'june-june-1', Config: { Labels: { 'com.docker.compose.service': 'june' } } });
});

afterAll(async () => {
  await engine?.close();
  await metrics?.close();
  await queue?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('june autoscale on a Docker host', { timeout: 180_000 }, () => {
  it('prints its decisions in a dry run and changes nothing', async () => {
    const r = await autoscale('--dry-run', '--limit', 'code=0:3');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      'chat: 1 (no change): 0 new + 0 in flight: 1 is right; retrying 3, dead 0',
      'code: 0 (no change): 0 new + 0 in flight: 0 is right; retrying 0, dead 4',
      'voice: 1 → 3 (up): 7 new + 2 in flight need 3 × 4; retrying 0, dead 0 [dry run: nothing done]',
    ]);
    expect(posts()).toEqual([]);
  });

  it('adds copies of a worker for new work; retrying and dead tasks add none', async () => {
    const r = await autoscale('--limit', 'code=0:3', '--json');
    expect(r.code).toBe(0);
    const decisions = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const voice = decisions.find((d) => d.pool === 'voice');
    expect(voice).toMatchObject({ action: 'up', running: 1, desired: 3, load: { new: 7, active: 2 } });
    expect(voice.changed).toHaveLength(2);
    expect(decisions.filter((d) => d.pool !== 'voice').every((d) => d.action === 'none')).toBe(true);

    const template = byName('june-june-worker-1');
    for (const name of voice.changed as string[]) {
      expect(name).toMatch(/^june-june-worker-1-as-[a-z0-9]+$/);
      const copy = byName(name);
      expect(copy.State).toBe('running');
      expect(copy.Config).toMatchObject({
        Image: template.Config.Image,
        Cmd: template.Config.Cmd,
        Entrypoint: template.Config.Entrypoint,
        Env: template.Config.Env,
        User: 'june:june',
      });
      // its own labels, not compose's (compose would count it as one of its replicas)
      expect(copy.Config.Labels).toEqual({
        'june.role': 'worker',
        'june.capabilities': 'voice',
        'june.autoscaled': 'true',
      });
      expect(copy.HostConfig).toMatchObject({
        Binds: template.HostConfig.Binds,
        NetworkMode: 'june_default',
      });
      expect(copy.HostConfig.PortBindings).toBeUndefined();
      // reachable under the service's name, so Prometheus finds it like the others
      expect(copy.NetworkSettings.Networks.june_default!.Aliases).toEqual(['june-worker']);
    }
    expect(posts().map((p) => p.path.replace(/[0-9a-f]{64}/, 'ID'))).toEqual([
      '/containers/create',
      '/containers/ID/start',
      '/containers/create',
      '/containers/ID/start',
    ]);
  });

  it('stops the newest workers when the work is done, letting them drain, and restarts them later', async () => {
    for (const lease of voiceLeases) await queue.complete(lease, { ok: true });
    for (const t of await queue.list({ capability: 'voice', state: 'queued' })) await queue.cancel(t.id);
    engine.requests.length = 0;
    const down = await autoscale('--stop-timeout', '50', '--limit', 'code=0:3');
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(
      /^voice: 3 → 1 \(down\): 0 new \+ 0 in flight need only 1; .*\[june-june-worker-1-as-/m,
    );
    const stops = posts().filter((p) => p.path.endsWith('/stop'));
    expect(stops).toHaveLength(2);
    expect(stops.every((s) => s.query.t === '50')).toBe(true);
    expect(byName('june-june-worker-1').State).toBe('running');
    const running = [...engine.containers.values()].filter(
      (c) => c.Config.Labels['june.capabilities'] === 'voice' && c.State === 'running',
    );
    expect(running).toHaveLength(1);

    // new work again: the stopped copies start again, nothing is created
    await Promise.all(Array.from({ length: 6 }, () => queue.enqueue({ kind: 'test', capability: 'voice' })));
    await scrapeShows(/^june_tasks_new\{capability="voice"\} 6$/m);
    engine.requests.length = 0;
    const up = await autoscale('--limit', 'code=0:3');
    expect(up.stdout).toMatch(/^voice: 1 → 2 \(up\)/m);
    expect(posts().map((p) => p.path.replace(/[0-9a-f]{64}/, 'ID'))).toEqual(['/containers/ID/start']);
    expect(byName('june-worker-code-1').State).toBe('exited');
  });

  it('scales a pool from zero, starting its stopped worker', async () => {
    await queue.enqueue({ kind: 'test', capability: 'code' });
    await scrapeShows(/^june_tasks_new\{capability="code"\} 1$/m);
    engine.requests.length = 0;
    const r = await autoscale('--limit', 'code=0:3', '--limit', 'voice=1:2');
    expect(r.stdout).toMatch(
      /^code: 0 → 1 \(up\): 1 new \+ 0 in flight need 1 × 2; retrying 0, dead 4 \[june-worker-code-1\]$/m,
    );
    expect(byName('june-worker-code-1').State).toBe('running');
  });

  it('says clearly what is wrong with its flags, June or Docker', async () => {
    const limit = await autoscale('--limit', 'voice=3');
    expect(limit.code).toBe(1);
    expect(limit.stderr).toContain(
      '--limit must look like CAPABILITIES=MIN:MAX (e.g. voice,chat=1:8), not "voice=3"',
    );

    const noDocker = await execJune(
      ['autoscale', '--once', '--metrics-url', metricsUrl, '--docker-socket', path.join(dir, 'nothing.sock')],
      { cwd: dir, env: { ...process.env, JUNE_DATA_DIR: dir } },
    );
    expect(noDocker.code).toBe(1);
    expect(noDocker.stderr).toMatch(/Docker Engine API at .*nothing\.sock: listing containers: .*ENOENT/);

    const notJune = await autoscale('--metrics-url', `http://127.0.0.1:${metrics.port}/elsewhere`);
    expect(notJune.code).toBe(1);
    expect(notJune.stderr).toContain('cannot read queue metrics from');
    expect(notJune.stderr).toContain('HTTP 404');
  });
});
