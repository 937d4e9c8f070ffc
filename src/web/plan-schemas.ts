/**
 * The JSON shapes of the plan routes (/v1/plans…): a plan root as the web chat shows it (its live status
 * line, the plan, whether it waits for the caller's approval, the answer and its files), for the OpenAPI
 * document and the answers' validation.
 */
import { z } from 'zod';
import { TASK_STATES } from '../tasks/types.js';
import { TaskError } from './schemas.js';

const PlanSpec = z.object({
  goal: z.string(),
  subtasks: z.array(
    z.object({
      id: z.string(),
      capability: z.string(),
      instructions: z.string(),
      inputs: z.record(z.string(), z.string()).optional(),
      needs: z.array(z.string()),
    }),
  ),
});

export const PlanLinks = z
  .record(z.string(), z.string())
  .describe("self, events (the root task's event stream), tree, approve, cancel");

export const PlanView = z.object({
  id: z.string().describe("The plan root's task id"),
  state: z.enum(TASK_STATES).describe("The root task's state"),
  request: z.string().describe('What the user asked'),
  conversation: z.string().optional().describe('The web conversation it answers in'),
  status: z.string().describe('The status line, as chats show it: "Plan: 2 of 4 done: searching…"'),
  plan: z
    .object({ goal: z.string(), subtasks: PlanSpec.shape.subtasks })
    .optional()
    .describe('The plan, once made'),
  needsApproval: z
    .boolean()
    .describe('The plan waits for approval (POST links.approve) and nobody approved it yet'),
  mine: z.boolean().describe('The caller asked for it (only the asker may approve)'),
  approvedFrom: z.string().optional().describe('This run was the approval of that plan task'),
  approvedAs: z.string().optional().describe('The task that runs this plan since it was approved'),
  result: z
    .object({
      status: z.string().describe('completed, partial, failed, awaiting-approval or rejected'),
      answer: z.string().describe('The answer (Markdown)'),
      summary: z.string().optional().describe('The short spoken summary'),
      files: z
        .array(z.object({ name: z.string(), url: z.string().describe('GET: the file, as an attachment') }))
        .describe('The files the subtasks made'),
      limitHit: z.string().optional(),
    })
    .optional()
    .describe('Once the root completed'),
  error: TaskError.optional().describe('How it failed, when it did'),
  links: PlanLinks,
});

export const PlanListQuery = z.object({
  conversation: z
    .string()
    .min(1)
    .max(200)
    .describe("The web conversation's name (the page's `conversation`)"),
});

export const PlanList = z.object({
  plans: z
    .array(
      z.object({
        id: z.string(),
        state: z.enum(TASK_STATES),
        createdAt: z.number(),
        approvedFrom: z.string().optional(),
        links: PlanLinks,
      }),
    )
    .describe('Oldest first'),
});

export const PlanApproved = z.object({
  taskId: z.string().describe('The new plan root that runs the approved plan'),
  links: PlanLinks,
});

export const PlanCancelled = z.object({ id: z.string(), state: z.enum(TASK_STATES) });

export const PlanFileParams = z.object({
  id: z.string().min(1).max(200),
  index: z.coerce.number().int().min(0).describe('Position of the file in result.files (0-based)'),
});
