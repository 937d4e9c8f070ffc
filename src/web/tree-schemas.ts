/**
 * The JSON shape of GET /v1/tasks/:id/tree: a plan's task tree (src/planner/contract.ts PlanTree) as the
 * API shows it, for the OpenAPI document and the answer's validation.
 */
import { z } from 'zod';

const PlanSubtaskSpec = z.object({
  id: z.string(),
  capability: z.string(),
  instructions: z.string(),
  inputs: z.record(z.string(), z.string()).optional(),
  needs: z.array(z.string()),
});

export const PlanTreeView = z.object({
  root: z.object({
    id: z.string(),
    state: z.string().describe('The root task state'),
    request: z.string().describe('What the user asked'),
    status: z
      .enum(['completed', 'partial', 'failed', 'awaiting-approval', 'rejected'])
      .optional()
      .describe("The root's result status, once it has one"),
  }),
  plan: z
    .object({ goal: z.string(), subtasks: z.array(PlanSubtaskSpec) })
    .optional()
    .describe('The plan (the latest revision), once made'),
  revision: z.number().int().describe('0, or 1 after a re-plan'),
  subtasks: z.array(
    z.object({
      subtaskId: z.string(),
      capability: z.string(),
      needs: z.array(z.string()),
      instructions: z.string(),
      taskId: z.string().optional().describe('The child task, once enqueued'),
      state: z.string(),
      activity: z.string().optional().describe("The worker's current step"),
      steps: z.array(z.object({ step: z.number(), activity: z.string() })),
    }),
  ),
});
