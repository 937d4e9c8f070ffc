/**
 * The `browse.task` contract: the task kind, its capability, and the payload and result shapes of a plan's
 * subtask. The planner owns these shapes (src/planner/contract.ts); the planner imports browse, not the
 * other way round, so they are written here again, field for field, and the planner's types are
 * assignable to these.
 */
import { z } from 'zod';

export const BROWSE_KIND = 'browse.task';
export const BROWSE_CAPABILITY = 'browse';

/** A plan subtask as a browse task receives it (the planner's SubtaskPayload). */
export const browsePayloadSchema = z.object({
  /** The tree's root task id: the browser context belongs to it. */
  treeId: z.string().min(1),
  subtaskId: z.string().min(1),
  instructions: z.string().min(1),
  /** Literal inputs: URLs, names, text. */
  inputs: z.record(z.string(), z.string()).default({}),
  /** Results of the subtasks this one needs, as text. */
  needs: z.array(z.object({ id: z.string(), result: z.string() })).default([]),
  /** ms epoch: the tree's time limit. */
  deadlineAt: z.number().optional(),
  maxTokens: z.number().optional(),
});
export type BrowsePayload = z.input<typeof browsePayloadSchema>;

/** What a browse task answers (the planner's SubtaskResult). */
export interface BrowseResult {
  text: string;
  files?: { name: string; path: string }[];
  notes?: string[];
  tokens?: { prompt: number; completion: number };
}
