/**
 * The planner's fixed contract: task kinds, payloads, results and progress events shared by the planner core
 * (src/planner), the entry points and views (src/channels, src/web, src/cli) and the browse capability
 * (src/browse). Names and shapes here are agreed between those modules; change them only together.
 *
 * A plan runs as a task tree: a root `plan.run` task (the orchestrator) that enqueues one ordinary task per
 * subtask with idempotency key `${rootId}:${subtaskId}` (`${rootId}:r1:${subtaskId}` after a re-plan). They are
 * not queue flow children: the queue's children are fixed at enqueue time and cannot have children.
 */
import type { Plan, PlanSubtask } from './plan.js';

export type { Plan, PlanSubtask as Subtask };

export const PLAN_RUN_KIND = 'plan.run';
export const PLAN_RUN_CAPABILITY = 'plan';
export const PLAN_CHAT_KIND = 'plan.chat';
export const PLAN_CHAT_CAPABILITY = 'chat';
export const PLAN_CODE_KIND = 'plan.code';
export const PLAN_CODE_CAPABILITY = 'code';
export const BROWSE_KIND = 'browse.task';
export const BROWSE_CAPABILITY = 'browse';

/** Subtask capability → the task kind and queue capability that runs it. */
export const SUBTASK_KINDS: Readonly<
  Record<PlanSubtask['capability'], { kind: string; capability: string }>
> = {
  chat: { kind: PLAN_CHAT_KIND, capability: PLAN_CHAT_CAPABILITY },
  code: { kind: PLAN_CODE_KIND, capability: PLAN_CODE_CAPABILITY },
  browse: { kind: BROWSE_KIND, capability: BROWSE_CAPABILITY },
};

/** Idempotency key of a subtask's task: revision 0 `${rootId}:${id}`, after a re-plan `${rootId}:r1:${id}`. */
export function subtaskIdempotencyKey(rootId: string, subtaskId: string, revision: number): string {
  return revision === 0 ? `${rootId}:${subtaskId}` : `${rootId}:r${revision}:${subtaskId}`;
}

/** Idempotency key of the plan.run that runs an approved plan (P2 enqueues it on /go or the button). */
export function approvalIdempotencyKey(oldRootId: string): string {
  return `go:${oldRootId}`;
}

export interface PlanRunPayload {
  request: string;
  userKey?: string;
  /** Opaque, owned by src/channels (where to deliver the answer). */
  reply?: unknown;
  spoke?: boolean;
  language?: string;
  /** The user asked for a plan (/plan). */
  forcePlan?: boolean;
  /** A plan the user approved: run it without asking the model to plan again. */
  approvedPlan?: Plan;
  /** The plan.run task whose plan was approved. */
  approvedFrom?: string;
}

export interface SubtaskPayload {
  /** The root (plan.run) task id. */
  treeId: string;
  subtaskId: string;
  instructions: string;
  /** Literal inputs: urls, file names, text. */
  inputs: Record<string, string>;
  /** Results of the subtasks it needs, as text. */
  needs: { id: string; result: string }[];
  /** ms epoch: the tree's time limit. */
  deadlineAt?: number;
  maxTokens?: number;
}

export interface SubtaskFile {
  name: string;
  path: string;
}

export interface SubtaskResult {
  text: string;
  files?: SubtaskFile[];
  notes?: string[];
  tokens?: { prompt: number; completion: number };
}

export interface PlanCost {
  subtasks: number;
  estTokens: number;
  estSeconds: number;
}

export type SubtaskState = 'queued' | 'active' | 'completed' | 'dead' | 'cancelled' | 'skipped';

/** Progress stages reported on the root. */
export const PLAN_STAGES = {
  planning: 'planning',
  plan: 'plan',
  subtask: 'subtask',
  composing: 'composing',
} as const;

export interface PlanProgressData {
  plan: Plan;
  revision: number;
  needsApproval: boolean;
  cost: PlanCost;
}

export interface SubtaskProgressData {
  subtaskId: string;
  taskId: string;
  capability: string;
  revision: number;
  state: SubtaskState;
  activity?: string;
}

/** Progress a subtask reports itself (stage 'step'), as the coding agent does. */
export interface SubtaskStepData {
  step: number;
  activity: string;
}

export type PlanRunStatus = 'completed' | 'partial' | 'failed' | 'awaiting-approval' | 'rejected';

export interface PlanRunResult {
  status: PlanRunStatus;
  answer: string;
  /** Short, to be spoken. */
  summary: string;
  files: SubtaskFile[];
  plan?: Plan;
  subtasks: { id: string; capability: string; taskId?: string; state: string; error?: string }[];
  limitHit?: string;
}

export interface PlanTreeSubtask {
  subtaskId: string;
  capability: string;
  needs: string[];
  instructions: string;
  taskId?: string;
  state: string;
  activity?: string;
  steps: { step: number; activity: string }[];
}

export interface PlanTree {
  root: { id: string; state: string; request: string; status?: PlanRunStatus };
  plan?: Plan;
  revision: number;
  subtasks: PlanTreeSubtask[];
}
