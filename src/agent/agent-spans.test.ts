/** The span tree of a run: agent.run → agent.step → llm.chat / sandbox.exec (real server, real bubblewrap). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCalls } from '../../test/helpers/fake-agent-scripts.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../../test/helpers/fake-openai-server.js';
import { setupTracing } from '../observability/tracing.js';
import { OpenAiLanguageModel } from '../providers/llm/openai.js';
import { BubblewrapSandbox, checkBubblewrap } from '../sandbox/bubblewrap.js';
import { DEFAULT_LIMITS } from '../sandbox/limits.js';
import { runAgent } from './loop.js';
import { agentMetrics } from './metrics.js';
import { DEFAULT_AGENT_LIMITS } from './types.js';
import { createRunDir } from './workspace.js';

const bwrap = await checkBubblewrap();
const spans = new InMemorySpanExporter();
setupTracing(spans);

describe.skipIf(!bwrap.ok)('coding agent spans and metrics', () => {
  let server: FakeOpenAiServer;
  let dataDir: string;
  beforeAll(async () => {
    server = await startFakeOpenAiServer();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-agent-spans-'));
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('nests llm.chat and sandbox.exec under agent.step under agent.run, and counts the run', async () => {
    server.enqueue(
      nativeCalls([{ name: 'execute_command', args: { command: 'echo hi' } }]),
      nativeCalls([{ name: 'finish', args: { summary: 'said hi' } }]),
    );
    const registry = new Registry();
    const result = await runAgent({
      task: 'say hi',
      model: new OpenAiLanguageModel({ baseUrl: server.url, model: 'm', retries: 0 }),
      sandbox: new BubblewrapSandbox({ limits: DEFAULT_LIMITS }),
      run: await createRunDir(dataDir, 'say hi'),
      limits: DEFAULT_AGENT_LIMITS,
      metrics: agentMetrics(registry),
    });
    expect(result.status).toBe('completed');
    const finished = spans.getFinishedSpans();
    const byName = (n: string) => finished.filter((s) => s.name === n);
    const run = byName('agent.run')[0]!;
    expect(run.attributes['agent.status']).toBe('completed');
    const steps = byName('agent.step');
    expect(steps).toHaveLength(2);
    for (const s of steps) expect(s.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
    const stepIds = steps.map((s) => s.spanContext().spanId);
    expect(byName('llm.chat').map((s) => stepIds.indexOf(s.parentSpanContext!.spanId))).toEqual([0, 1]);
    const exec = byName('sandbox.exec');
    expect(exec).toHaveLength(1);
    expect(exec[0]!.parentSpanContext?.spanId).toBe(stepIds[0]);

    const metrics = await registry.getMetricsAsJSON();
    const duration = metrics.find((m) => m.name === 'sandbox_exec_duration_seconds')!;
    const count = duration.values.find(
      (v) => (v as { metricName?: string }).metricName === 'sandbox_exec_duration_seconds_count',
    );
    expect(count?.value).toBe(1);
    const tokens = metrics.find((m) => m.name === 'agent_tokens_total')!;
    expect(tokens.values.find((v) => v.labels.kind === 'prompt')?.value).toBeGreaterThan(0);
  });
});
