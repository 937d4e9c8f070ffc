/**
 * The plan: a small graph of subtasks the model produces for a request that needs several steps. The zod
 * schema checks its shape; `checkPlan` checks what a schema cannot (unknown capabilities and `needs` ids,
 * duplicate ids, cycles, too many subtasks, a chain too deep) and says each problem in one sentence, so it
 * can go back to the model as the reason its plan was refused, and to the user when it stays wrong.
 */
import { z } from 'zod';

export const SUBTASK_CAPABILITIES = ['chat', 'code', 'browse'] as const;
export type SubtaskCapability = (typeof SUBTASK_CAPABILITIES)[number];

export const SUBTASK_ID_PATTERN = /^[a-z0-9_-]{1,32}$/;

/** Shape only: the capability is checked by checkPlan, so that an unknown one gets a clear sentence. */
const subtaskShape = z.object({
  id: z.string(),
  capability: z.string(),
  instructions: z.string().min(1, 'instructions must not be empty'),
  inputs: z.record(z.string(), z.string()).optional(),
  needs: z.array(z.string()).default([]),
});

const planShape = z.object({
  goal: z.string().min(1, 'the goal must not be empty'),
  subtasks: z.array(subtaskShape).min(1, 'a plan needs at least one subtask'),
});

export const subtaskSchema = z.object({
  id: z.string().regex(SUBTASK_ID_PATTERN),
  capability: z.enum(SUBTASK_CAPABILITIES),
  instructions: z.string().min(1),
  inputs: z.record(z.string(), z.string()).optional(),
  needs: z.array(z.string()),
});

export const planSchema = z.object({ goal: z.string().min(1), subtasks: z.array(subtaskSchema).min(1) });

export type PlanSubtask = z.output<typeof subtaskSchema>;
export type Plan = z.output<typeof planSchema>;

export interface PlanLimits {
  maxSubtasks: number;
  maxDepth: number;
  /** Capabilities that may be used (default: all three). */
  capabilities?: readonly string[];
}

/** A limit a plan broke: 'subtasks' (too many) or 'depth' (a chain too long). */
export type PlanLimitKind = 'subtasks' | 'depth';

export type PlanCheck =
  | { ok: true; plan: Plan }
  | { ok: false; errors: string[]; limit?: { kind: PlanLimitKind; message: string } };

/** Parses and checks a plan from unknown JSON; every problem found is one sentence in `errors`. */
export function checkPlan(raw: unknown, limits: PlanLimits): PlanCheck {
  const parsed = planShape.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((i) => {
        const where = i.path.length > 0 ? `at ${i.path.join('.')}` : 'in the plan';
        return `The plan is not valid ${where}: ${i.message}.`;
      }),
    };
  }
  const plan = parsed.data;
  const errors: string[] = [];
  let limit: { kind: PlanLimitKind; message: string } | undefined;
  const allowed = limits.capabilities ?? SUBTASK_CAPABILITIES;
  const ids = new Set<string>();
  for (const s of plan.subtasks) {
    if (!SUBTASK_ID_PATTERN.test(s.id)) {
      errors.push(`Subtask id "${s.id}" is not allowed: use 1 to 32 lowercase letters, digits, "-" or "_".`);
    }
    if (ids.has(s.id)) errors.push(`Subtask id "${s.id}" is used more than once; each id must be unique.`);
    ids.add(s.id);
    if (!allowed.includes(s.capability)) {
      errors.push(
        allowed.length > 0
          ? `Subtask "${s.id}" has unknown capability "${s.capability}"; use one of: ${allowed.join(', ')}.`
          : `Subtask "${s.id}" needs capability "${s.capability}", but no worker serves chat, code or browse right now.`,
      );
    }
  }
  for (const s of plan.subtasks) {
    for (const n of s.needs) {
      if (!ids.has(n)) errors.push(`Subtask "${s.id}" needs "${n}", which is not a subtask of the plan.`);
      else if (n === s.id) errors.push(`Subtask "${s.id}" needs itself.`);
    }
  }
  if (plan.subtasks.length > limits.maxSubtasks) {
    const message = `The plan has ${plan.subtasks.length} subtasks; at most ${limits.maxSubtasks} are allowed.`;
    errors.push(message);
    limit = { kind: 'subtasks', message };
  }
  if (errors.length === 0) {
    const cycle = findCycle(plan.subtasks);
    if (cycle)
      errors.push(
        `The plan has a cycle: ${cycle.join(' needs ')}; subtasks cannot need each other in a loop.`,
      );
    else {
      const depth = planDepth(plan.subtasks);
      if (depth > limits.maxDepth) {
        const message = `The plan's longest chain of subtasks is ${depth} long; at most ${limits.maxDepth} are allowed.`;
        errors.push(message);
        limit = { kind: 'depth', message };
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors, ...(limit ? { limit } : {}) };
  return {
    ok: true,
    plan: {
      goal: plan.goal,
      subtasks: plan.subtasks.map((s) => ({
        id: s.id,
        capability: s.capability as SubtaskCapability,
        instructions: s.instructions,
        ...(s.inputs && Object.keys(s.inputs).length > 0 ? { inputs: s.inputs } : {}),
        needs: [...new Set(s.needs)],
      })),
    },
  };
}

type Node = { id: string; needs: readonly string[] };

/** A cycle as a list of ids (first repeated at the end), or undefined. */
export function findCycle(subtasks: readonly Node[]): string[] | undefined {
  const byId = new Map(subtasks.map((s) => [s.id, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const st = state.get(id);
    if (st === 'done') return undefined;
    if (st === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const n of byId.get(id)?.needs ?? []) {
      if (!byId.has(n)) continue;
      const c = visit(n);
      if (c) return c;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const s of subtasks) {
    const c = visit(s.id);
    if (c) return c;
  }
  return undefined;
}

/** Length of the longest chain of needs (a lone subtask: 1). The graph must be acyclic. */
export function planDepth(subtasks: readonly Node[]): number {
  const byId = new Map(subtasks.map((s) => [s.id, s]));
  const memo = new Map<string, number>();
  const depth = (id: string): number => {
    const m = memo.get(id);
    if (m !== undefined) return m;
    const needs = byId.get(id)?.needs ?? [];
    const d = 1 + Math.max(0, ...needs.filter((n) => byId.has(n)).map(depth));
    memo.set(id, d);
    return d;
  };
  return Math.max(0, ...subtasks.map((s) => depth(s.id)));
}

/** Subtasks in an order where each comes after those it needs. */
export function topoOrder<T extends Node>(subtasks: readonly T[]): T[] {
  const done = new Set<string>();
  const out: T[] = [];
  const rest = [...subtasks];
  while (rest.length > 0) {
    const i = rest.findIndex((s) => s.needs.every((n) => done.has(n)));
    if (i < 0) throw new Error('plan has a cycle');
    const [s] = rest.splice(i, 1);
    out.push(s!);
    done.add(s!.id);
  }
  return out;
}
