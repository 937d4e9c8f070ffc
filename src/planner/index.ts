/**
 * The planner: multi-step requests as task trees on the queue. Entry points (chat, web, CLI) enqueue a
 * `plan.run` task and wrap its handler to deliver the answer; workers register the subtask handlers.
 * See docs/planner.md.
 */
export * from './contract.js';
export {
  checkPlan,
  planDepth,
  findCycle,
  planSchema,
  SUBTASK_CAPABILITIES,
  type PlanLimits,
} from './plan.js';
export { createPlanRunHandler, needsApproval } from './run.js';
export { registerPlanSubtaskHandlers } from './subtasks.js';
export { planTree, cancelTree, treeChildIds } from './tree.js';
export { estimateCost } from './model.js';
export { plannerMetrics, type PlannerMetrics } from './metrics.js';
export { treeDir, type PlannerDeps } from './deps.js';
