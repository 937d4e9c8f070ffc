/** Prometheus metrics of the coding agent and its sandbox, on prom-client's registry (once per registry). */
import { Counter, Histogram, register as defaultRegistry, type Registry } from 'prom-client';

export interface AgentMetrics {
  runs: Counter<'status'>;
  steps: Histogram;
  toolCalls: Counter<'tool' | 'status'>;
  formatErrors: Counter;
  sandboxExec: Histogram<'backend'>;
  tokens: Counter<'kind'>;
}

const cache = new WeakMap<Registry, AgentMetrics>();

export function agentMetrics(registry: Registry = defaultRegistry): AgentMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: AgentMetrics = {
    runs: new Counter({
      name: 'agent_runs_total',
      help: 'Coding agent runs by final status',
      labelNames: ['status'],
      registers,
    }),
    steps: new Histogram({
      name: 'agent_steps',
      help: 'Steps per coding agent run',
      buckets: [1, 2, 3, 5, 8, 13, 20, 30, 50],
      registers,
    }),
    toolCalls: new Counter({
      name: 'agent_tool_calls_total',
      help: 'Tool calls by tool and outcome',
      labelNames: ['tool', 'status'],
      registers,
    }),
    formatErrors: new Counter({
      name: 'agent_format_errors_total',
      help: 'Model replies whose tool calls could not be used',
      registers,
    }),
    sandboxExec: new Histogram({
      name: 'sandbox_exec_duration_seconds',
      help: 'Wall time of one sandboxed command',
      labelNames: ['backend'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    tokens: new Counter({
      name: 'agent_tokens_total',
      help: 'Tokens used by the coding agent (prompt, completion, reasoning)',
      labelNames: ['kind'],
      registers,
    }),
  };
  cache.set(registry, m);
  return m;
}
