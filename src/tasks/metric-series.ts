/**
 * Lean prom-client metrics for the per-task path: a histogram and a counter keyed by one or two plain
 * label values. prom-client's own Histogram.observe validates and hashes its labels object on every call,
 * which costs a few microseconds per task; these keep a map from the label values to their numbers and
 * build prom-client's export format only when scraped. They register like any prom-client metric.
 */
import type { Metric, Registry } from 'prom-client';

interface Series {
  labels: Record<string, string>;
  buckets: number[];
  sum: number;
  count: number;
}

export class LeanHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  observe(labelValue: string, value: number): void {
    let s = this.series.get(labelValue);
    if (!s) {
      s = {
        labels: { [this.labelName]: labelValue },
        buckets: new Array(this.bounds.length).fill(0),
        sum: 0,
        count: 0,
      };
      this.series.set(labelValue, s);
    }
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) s.buckets[i]!++; // above the last bound: only in +Inf (the count)
    s.sum += value;
    s.count++;
  }

  async get() {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.buckets[i]!;
        values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}

export class LeanCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, { labels: Record<string, string>; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly [string] | readonly [string, string],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  inc(first: string, second?: string): void {
    const key = second === undefined ? first : `${first}\u0000${second}`;
    let s = this.series.get(key);
    if (!s) {
      const labels: Record<string, string> = { [this.labelNames[0]]: first };
      if (second !== undefined && this.labelNames[1]) labels[this.labelNames[1]] = second;
      s = { labels, value: 0 };
      this.series.set(key, s);
    }
    s.value++;
  }

  async get() {
    const values = [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}
