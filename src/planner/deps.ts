/**
 * What the planner's handlers need, and the places on disk that belong to a task tree: the agent
 * workspaces of its code subtasks (`work/`, removed when the tree ends) and the files its answer hands to
 * the user (`files/`, kept for delivery).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { createLanguageModel } from '../providers/factory.js';
import type { LanguageModel } from '../providers/types.js';
import type { TaskQueue } from '../tasks/types.js';
import type { PlannerMetrics } from './metrics.js';

export interface PlannerDeps {
  queue: TaskQueue;
  config: JuneConfig;
  logger: Logger;
  /** The language model, or a getter; default: one made from the config on first use and kept. */
  llm?: LanguageModel | (() => Promise<LanguageModel>);
  /** Metrics to record into; default: the default prom-client registry's. `false`: none. */
  metrics?: PlannerMetrics | false;
  /** Longest wait between looks at the children when no queue event arrives (default 1000 ms). */
  pollMs?: number;
}

export function modelGetter(
  deps: Pick<PlannerDeps, 'llm' | 'config' | 'logger'>,
): () => Promise<LanguageModel> {
  const given = deps.llm;
  if (given && typeof given !== 'function') return () => Promise.resolve(given);
  if (given) return given;
  let model: Promise<LanguageModel> | undefined;
  return () => {
    model ??= createLanguageModel(deps.config, { logger: deps.logger }).then(async (m) => {
      await m.load();
      return m;
    });
    model.catch(() => (model = undefined));
    return model;
  };
}

const safe = (id: string) => id.replace(/[^A-Za-z0-9_-]/g, '_');

/** `<dataDir>/planner/trees/<treeId>` */
export function treeDir(dataDir: string, treeId: string): string {
  return path.join(dataDir, 'planner', 'trees', safe(treeId));
}

/** Where the tree's code subtasks get their agent workspaces; removed when the tree ends. */
export function treeWorkDir(dataDir: string, treeId: string, subtaskId: string): string {
  return path.join(treeDir(dataDir, treeId), 'work', safe(subtaskId));
}

/** Where a subtask's output files are kept for the answer. */
export function treeFilesDir(dataDir: string, treeId: string, subtaskId: string): string {
  return path.join(treeDir(dataDir, treeId), 'files', safe(subtaskId));
}

/** Removes the tree's workspaces (its agent runs); the output files stay. Never throws. */
export function removeTreeWork(dataDir: string, treeId: string): void {
  try {
    fs.rmSync(path.join(treeDir(dataDir, treeId), 'work'), { recursive: true, force: true });
  } catch {
    // best effort: a later tree end or `june` maintenance can remove it
  }
}
