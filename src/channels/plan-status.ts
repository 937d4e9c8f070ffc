/**
 * The line a chat's plan status message shows, read from the progress events the planner reports on the
 * root task (src/planner/contract.ts: 'planning', 'plan', 'subtask', 'composing'): "Plan: planning…",
 * "Plan: 2 of 4 done: browsing: reading example.org…", "Plan: writing the answer…", and the final line
 * from the root's result. Only the latest revision's subtasks count (a re-plan starts the count again).
 */
import type {
  PlanProgressData,
  PlanRunResult,
  SubtaskProgressData,
  SubtaskState,
} from '../planner/contract.js';

export const PLAN_STATUS_PREFIX = 'Plan: ';
export const PLAN_STATUS_STARTING = `${PLAN_STATUS_PREFIX}starting…`;

/** What each capability is doing when a subtask gives no activity of its own. */
const DOING: Record<string, string> = {
  browse: 'searching…',
  code: 'coding…',
  chat: 'thinking…',
};

interface SubtaskView {
  capability: string;
  state: SubtaskState;
  activity?: string;
  at: number;
}

/** Folds the root's progress events into the status line. */
export class PlanStatusLine {
  private revision = 0;
  private total = 0;
  private readonly subtasks = new Map<string, SubtaskView>();
  private phase: 'starting' | 'planning' | 'running' | 'composing' = 'starting';
  private seq = 0;

  /** Takes one progress event; answers the new line, or undefined when it changes nothing. */
  event(stage: string, data: unknown): string | undefined {
    switch (stage) {
      case 'planning':
        this.phase = 'planning';
        break;
      case 'plan': {
        const d = data as PlanProgressData | undefined;
        if (!d?.plan) return undefined;
        if (d.revision !== this.revision) this.subtasks.clear();
        this.revision = d.revision;
        this.total = d.plan.subtasks.length;
        this.phase = 'running';
        break;
      }
      case 'subtask': {
        const d = data as SubtaskProgressData | undefined;
        if (!d?.subtaskId || d.revision !== this.revision) return undefined;
        this.subtasks.set(d.subtaskId, {
          capability: d.capability,
          state: d.state,
          ...(d.activity ? { activity: d.activity } : {}),
          at: ++this.seq,
        });
        this.phase = 'running';
        break;
      }
      case 'composing':
        this.phase = 'composing';
        break;
      default:
        return undefined;
    }
    return this.line();
  }

  line(): string {
    switch (this.phase) {
      case 'starting':
        return PLAN_STATUS_STARTING;
      case 'planning':
        return `${PLAN_STATUS_PREFIX}planning…`;
      case 'composing':
        return `${PLAN_STATUS_PREFIX}${this.count()}: writing the answer…`;
      case 'running': {
        const active = [...this.subtasks.values()]
          .filter((s) => s.state === 'active')
          .sort((a, b) => b.at - a.at)[0];
        const doing = active ? (active.activity ?? DOING[active.capability] ?? 'working…') : 'waiting…';
        return `${PLAN_STATUS_PREFIX}${this.count()}: ${oneLine(doing)}`;
      }
    }
  }

  private count(): string {
    const done = [...this.subtasks.values()].filter((s) => s.state === 'completed').length;
    return `${done} of ${this.total} done`;
  }
}

/** The last line, from the root's result (or from how it ended without one). */
export function planFinalLine(result: { status?: string; subtasks?: PlanRunResult['subtasks'] }): string {
  const subtasks = result.subtasks ?? [];
  const done = subtasks.filter((s) => s.state === 'completed').length;
  const of = subtasks.length ? ` (${done} of ${subtasks.length} done)` : '';
  switch (result.status) {
    case 'completed':
      return `${PLAN_STATUS_PREFIX}done${of}.`;
    case 'partial':
      return `${PLAN_STATUS_PREFIX}finished, with parts missing${of}.`;
    case 'awaiting-approval':
      return `${PLAN_STATUS_PREFIX}waiting for your approval.`;
    case 'rejected':
      return `${PLAN_STATUS_PREFIX}not run.`;
    case 'cancelled':
      return `${PLAN_STATUS_PREFIX}cancelled${of}.`;
    case 'failed':
      return `${PLAN_STATUS_PREFIX}failed${of}.`;
    default:
      return `${PLAN_STATUS_PREFIX}stopped (${String(result.status ?? 'unknown')}).`;
  }
}

function oneLine(s: string, max = 120): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
