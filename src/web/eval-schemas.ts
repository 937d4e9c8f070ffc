/**
 * The shapes of the eval routes (/v1/evals…), kept beside schemas.ts: requests are validated with them and
 * /openapi.json is generated from them.
 */
import { z } from 'zod';
import { DATASET_IDS } from '../eval/datasets.js';
import { TASK_STATES } from '../tasks/types.js';

export const EvalIdParams = z.object({
  id: z.string().min(1).max(200).describe('Eval run id (its parent task id)'),
});
export const EvalSampleParams = EvalIdParams.extend({
  index: z.coerce.number().int().min(0).describe('Position of the sample in the samples file (0-based)'),
});
export const EvalListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('At most this many'),
});

export const EvalStartBody = z.object({
  dataset: z
    .enum(DATASET_IDS as [string, ...string[]])
    .describe('humaneval, humaneval+, mbpp, mbpp-full or mbpp+'),
  samples: z
    .string()
    .min(1)
    .optional()
    .describe(
      'The samples as JSON lines ({task_id, completion} or {task_id, solution} per line), uploaded in the body',
    ),
  samplesFile: z
    .string()
    .min(1)
    .max(1000)
    .optional()
    .describe('Or a samples file on the server, inside <JUNE_DATA_DIR>/evals/samples (a name or path there)'),
  mode: z
    .enum(['samples', 'completion', 'agent'])
    .optional()
    .describe(
      'samples (default): check given samples; completion: the configured language model answers each problem; agent: the coding agent solves each problem in a workspace',
    ),
  n: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe('Samples per problem (completion and agent modes)'),
  temperature: z
    .number()
    .min(0)
    .max(2)
    .optional()
    .describe('Sampling temperature (completion and agent modes; default JUNE_LLM_TEMPERATURE)'),
  limit: z.number().int().min(1).optional().describe('Only the first n tasks of the dataset'),
  tasks: z.array(z.string().min(1)).min(1).max(10_000).optional().describe('Only these task ids'),
  timeoutS: z
    .number()
    .positive()
    .max(600)
    .optional()
    .describe('CPU seconds of the original tests (default 3)'),
});

const CheckDetail = z
  .object({
    error: z.string().optional(),
    input: z.string().optional(),
    expected: z.string().optional(),
    actual: z.string().optional(),
    assertion: z.string().optional(),
    line: z.number().optional(),
    index: z.number().optional(),
    timeLimitS: z.number().optional(),
  })
  .describe('The first failing input, the expected and the actual value, or the error');

export const EvalVerdict = z.looseObject({
  task_id: z.string(),
  sample: z.number().int(),
  status: z.enum(['pass', 'fail', 'timeout', 'error', 'sandbox_violation']),
  detail: CheckDetail.optional(),
  plus_status: z.enum(['pass', 'fail', 'timeout', 'error', 'sandbox_violation']).optional(),
  plus_detail: CheckDetail.optional(),
  wall_ms: z.number(),
  cpu_ms: z.number(),
});

const Summary = z
  .looseObject({
    dataset: z.string(),
    n: z.number(),
    tasks: z.number(),
    samples: z.number(),
    passAtK: z.object({
      base: z.record(z.string(), z.number()),
      plus: z.record(z.string(), z.number()).optional(),
    }),
    perTask: z.record(z.string(), z.object({ n: z.number(), base: z.number(), plus: z.number().optional() })),
    statusCounts: z.record(z.string(), z.number()),
    wallSeconds: z.number(),
  })
  .describe('summary.json: pass@k (base, plus), per-task counts, statuses, times');

export const EvalRunView = z.object({
  id: z.string(),
  state: z.enum(TASK_STATES).describe('The run (parent task): waiting-children while samples are checked'),
  dataset: z.string(),
  mode: z.string(),
  runDir: z.string().describe('The run directory on the server'),
  startedAt: z.string(),
  finishedAt: z.number().optional(),
  total: z.number().int().describe('Samples in the run'),
  done: z.number().int().describe('Samples checked (or ended otherwise) so far'),
  passed: z.number().int().describe('Samples that passed the base tests so far'),
  failed: z.number().int(),
  states: z.record(z.string(), z.number().int()).describe('Sample tasks per state'),
  summary: Summary.optional().describe('Once the run completed'),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  links: z.object({ self: z.string(), logs: z.string(), report: z.string(), samples: z.string() }),
});

export const EvalRunList = z.object({ runs: z.array(EvalRunView) });

export const EvalSampleRow = z.object({
  index: z.number().int(),
  task_id: z.string(),
  sample: z.number().int(),
  state: z.string(),
  verdict: EvalVerdict.optional(),
});
export const EvalSampleList = z.object({ samples: z.array(EvalSampleRow) });

export const EvalSampleDetail = EvalSampleRow.extend({
  prompt: z.string().optional().describe("The problem's prompt"),
  program: z.string().optional().describe('The program checked'),
  answer: z.string().optional().describe("The model's answer after its reasoning (model modes)"),
  reasoning: z.string().optional().describe("The model's reasoning (model modes)"),
  trajectory: z.array(z.unknown()).optional().describe("The agent's steps (agent mode)"),
});

export const EvalCancelResult = z.object({
  cancelled: z.boolean().describe('Whether the run was still going (false: it had already ended)'),
  run: EvalRunView,
});
