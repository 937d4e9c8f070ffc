/**
 * `june tasks tree ID`: a plan's task tree as text: the root (its state and the request), the plan's
 * goal, each subtask with its capability, state, task id and the subtasks it needs, and under it the
 * steps its worker reported (the agent's or the browser's), the latest last.
 */
import type { PlanTree } from '../../planner/contract.js';

const oneLine = (s: string, max: number) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

export interface TreeFormatOptions {
  /** Steps shown per subtask (the latest ones); default 5. */
  steps?: number;
}

export function formatPlanTree(tree: PlanTree, options: TreeFormatOptions = {}): string {
  const maxSteps = options.steps ?? 5;
  const { root } = tree;
  const lines = [
    `plan ${root.id}  ${root.state}${root.status ? ` (${root.status})` : ''}`,
    `  request: ${oneLine(root.request, 200)}`,
  ];
  if (!tree.plan) {
    lines.push('  (no plan yet)');
    return lines.join('\n') + '\n';
  }
  lines.push(
    `  goal: ${oneLine(tree.plan.goal, 200)}${tree.revision > 0 ? `  (re-plan ${tree.revision})` : ''}`,
  );
  tree.subtasks.forEach((s, i) => {
    const last = i === tree.subtasks.length - 1;
    const branch = last ? '└─' : '├─';
    const under = last ? '   ' : '│  ';
    const needs = s.needs.length ? `  needs: ${s.needs.join(', ')}` : '';
    lines.push(
      `  ${branch} ${s.subtaskId} [${s.capability}]  ${s.state}${s.taskId ? `  task ${s.taskId}` : ''}${needs}`,
    );
    lines.push(`  ${under}   ${oneLine(s.instructions, 160)}`);
    const steps = s.steps.slice(-maxSteps);
    if (s.steps.length > steps.length)
      lines.push(`  ${under}   … ${s.steps.length - steps.length} earlier steps`);
    for (const step of steps) lines.push(`  ${under}   step ${step.step}: ${oneLine(step.activity, 140)}`);
    if (s.activity && s.state === 'active' && s.activity !== steps.at(-1)?.activity)
      lines.push(`  ${under}   now: ${oneLine(s.activity, 140)}`);
  });
  return lines.join('\n') + '\n';
}
