import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LeanCounter, LeanHistogram } from './metric-series.js';

describe('lean metrics', () => {
  it('export exactly what prom-client histograms and counters export', async () => {
    const lean = new Registry();
    const reference = new Registry();
    const bounds = [0.1, 1, 10];
    const h = new LeanHistogram('t_seconds', 'help', 'capability', bounds, lean);
    const ref = new Histogram({
      name: 't_seconds',
      help: 'help',
      labelNames: ['capability'],
      buckets: bounds,
      registers: [reference],
    });
    for (const [cap, v] of [
      ['chat', 0.05],
      ['chat', 0.5],
      ['chat', 50],
      ['voice', 1],
    ] as const) {
      h.observe(cap, v);
      ref.observe({ capability: cap }, v);
    }
    expect(await lean.metrics()).toBe(await reference.metrics());

    const c = new LeanCounter('t_failed_total', 'failures', ['capability', 'outcome'], lean);
    c.inc('chat', 'dead');
    c.inc('chat', 'dead');
    c.inc('voice', 'retrying');
    const text = await lean.metrics();
    expect(text).toContain('# TYPE t_failed_total counter');
    expect(text).toContain('t_failed_total{capability="chat",outcome="dead"} 2');
    expect(text).toContain('t_failed_total{capability="voice",outcome="retrying"} 1');
    lean.resetMetrics();
    expect(await lean.metrics()).not.toContain('capability="chat"');
  });
});
