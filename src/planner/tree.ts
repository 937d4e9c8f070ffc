/**
 * A task tree as the views show it (web tasks view, `june tasks tree ID`, the chat status message), read
 * from the root's progress events ('plan', 'subtask') and the children's own tasks and 'step' progress; and
 * cancelling a tree: the root and every child it enqueued.
 */
import type { TaskEvent, TaskQueue } from '../tasks/types.js';
import {
  PLAN_STAGES,
  type Plan,
  type PlanProgressData,
  type PlanRunResult,
  type PlanTree,
  type PlanTreeSubtask,
  type SubtaskProgressData,
} from './contract.js';

const MAX_STEPS = 200;

/** The tree under a plan.run task, or undefined when there is no such task. */
export async function planTree(queue: TaskQueue, rootId: string): Promise<PlanTree | undefined> {
  const root = await queue.get(rootId);
  if (!root) return undefined;
  const progress = root.timeline.filter((e) => e.type === 'progress');
  const plans = new Map<number, PlanProgressData>();
  for (const e of progress)
    if (e.stage === PLAN_STAGES.plan && isPlanData(e.data)) plans.set(e.data.revision, e.data);
  const latest = new Map<string, SubtaskProgressData>();
  for (const e of progress)
    if (e.stage === PLAN_STAGES.subtask && isSubtaskData(e.data))
      latest.set(`${e.data.revision}:${e.data.subtaskId}`, e.data);
  const payload = root.task.payload as { request?: unknown } | undefined;
  const result = root.task.result as Partial<PlanRunResult> | undefined;
  const revisions = [...plans.keys()].sort((a, b) => a - b);
  const subtasks: PlanTreeSubtask[] = [];
  for (const revision of revisions) {
    const plan = plans.get(revision)!.plan;
    for (const s of plan.subtasks) {
      const seen = latest.get(`${revision}:${s.id}`);
      const taskId = seen?.taskId || undefined;
      const entry: PlanTreeSubtask = {
        subtaskId: revision === 0 ? s.id : `r${revision}:${s.id}`,
        capability: s.capability,
        needs: s.needs,
        instructions: s.instructions,
        state: seen?.state ?? 'pending',
        steps: [],
        ...(taskId ? { taskId } : {}),
      };
      if (taskId) {
        const child = await queue.get(taskId);
        if (child) {
          entry.state = childState(child.task.state, seen?.state);
          entry.steps = stepsOf(child.timeline);
          const last = entry.steps.at(-1);
          if (last && entry.state === 'active') entry.activity = last.activity;
        }
      }
      subtasks.push(entry);
    }
  }
  const current = revisions.length > 0 ? plans.get(revisions.at(-1)!) : undefined;
  const plan: Plan | undefined = current?.plan ?? result?.plan;
  return {
    root: {
      id: rootId,
      state: root.task.state,
      request: typeof payload?.request === 'string' ? payload.request : '',
      ...(result?.status ? { status: result.status } : {}),
    },
    ...(plan ? { plan } : {}),
    revision: revisions.at(-1) ?? 0,
    subtasks,
  };
}

/** Every child task id the root has enqueued so far (all revisions), from its progress events. */
export async function treeChildIds(queue: TaskQueue, rootId: string): Promise<string[]> {
  const root = await queue.get(rootId);
  if (!root) return [];
  const ids = new Set<string>();
  for (const e of root.timeline)
    if (e.type === 'progress' && e.stage === PLAN_STAGES.subtask && isSubtaskData(e.data) && e.data.taskId)
      ids.add(e.data.taskId);
  return [...ids];
}

/**
 * Cancels the root and every child. A child the root enqueues at the very moment of the cancel is caught
 * by the root itself (it cancels its children when its run is stopped by the cancel) and by the subtask
 * handlers, which do not start under a cancelled root. Returns how many tasks were cancelled.
 */
export async function cancelTree(queue: TaskQueue, rootId: string): Promise<number> {
  let n = (await queue.cancel(rootId)) ? 1 : 0;
  for (const id of await treeChildIds(queue, rootId)) if (await queue.cancel(id)) n++;
  return n;
}

function stepsOf(timeline: TaskEvent[]): { step: number; activity: string }[] {
  const steps: { step: number; activity: string }[] = [];
  for (const e of timeline) {
    if (e.type !== 'progress') continue;
    const d = e.data as { step?: unknown; activity?: unknown } | undefined;
    if (typeof d?.step === 'number' && typeof d.activity === 'string')
      steps.push({ step: d.step, activity: d.activity });
  }
  return steps.slice(-MAX_STEPS);
}

function childState(state: string, reported: string | undefined): string {
  if (state === 'retrying' || state === 'queued') return reported === 'skipped' ? 'skipped' : 'queued';
  if (state === 'waiting-children') return 'active';
  return state;
}

function isPlanData(d: unknown): d is PlanProgressData {
  const x = d as Partial<PlanProgressData> | undefined;
  return typeof x?.revision === 'number' && Array.isArray(x.plan?.subtasks);
}

function isSubtaskData(d: unknown): d is SubtaskProgressData {
  const x = d as Partial<SubtaskProgressData> | undefined;
  return typeof x?.subtaskId === 'string' && typeof x.revision === 'number' && typeof x.state === 'string';
}
