/** Prometheus metrics of the planner's task trees, on prom-client's registry (once per registry). */
import { Counter, Histogram, register as defaultRegistry, type Registry } from 'prom-client';

export interface PlannerMetrics {
  /** Plans made (or approved), by size bucket and whether they needed approval. */
  plans: Counter<'size' | 'approval'>;
  subtasks: Counter<'capability' | 'outcome'>;
  treeDuration: Histogram<'status'>;
  replans: Counter;
  limitsHit: Counter<'limit'>;
}

const cache = new WeakMap<Registry, PlannerMetrics>();

/** "1", "2-3", "4-6", "7+": a few buckets, so the label stays small. */
export function planSizeLabel(subtasks: number): string {
  if (subtasks <= 1) return '1';
  if (subtasks <= 3) return '2-3';
  if (subtasks <= 6) return '4-6';
  return '7+';
}

export function plannerMetrics(registry: Registry = defaultRegistry): PlannerMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: PlannerMetrics = {
    plans: new Counter({
      name: 'planner_plans_total',
      help: 'Plans made, by number of subtasks and whether they waited for approval',
      labelNames: ['size', 'approval'],
      registers,
    }),
    subtasks: new Counter({
      name: 'planner_subtasks_total',
      help: 'Subtasks settled, by capability and outcome (completed, dead, cancelled, skipped)',
      labelNames: ['capability', 'outcome'],
      registers,
    }),
    treeDuration: new Histogram({
      name: 'planner_tree_duration_seconds',
      help: 'Time from a task tree starting to its answer, by final status',
      labelNames: ['status'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers,
    }),
    replans: new Counter({
      name: 'planner_replans_total',
      help: 'Task trees re-planned after a subtask failed',
      registers,
    }),
    limitsHit: new Counter({
      name: 'planner_limits_hit_total',
      help: 'Task trees stopped by a limit (subtasks, depth, tokens, time)',
      labelNames: ['limit'],
      registers,
    }),
  };
  cache.set(registry, m);
  return m;
}
