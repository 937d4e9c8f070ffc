/**
 * A chat tool that hands the whole task to other workers: the chat model's `delegate_coding_task` and
 * `plan_task` are both this shape. One argument, `task`; a call starts the work under an idempotency key
 * made from the turn's task id and the call's number in the turn (the n-th call keeps its key, so a retried
 * turn starts nothing twice) and answers the model with a short text to relay to the user.
 */
import type { TurnTool } from '../pipeline/types.js';
import type { TaskQueue } from '../tasks/types.js';
import type { InboundMessage } from './types.js';

/** The turn a tool is offered in. */
export interface ToolTurn {
  message: InboundMessage;
  taskId: string;
  spoke: boolean;
  language?: string;
}

export interface TaskToolSpec {
  name: string;
  description: string;
  /** What the `task` argument should hold, for the model. */
  taskDescription: string;
  /** The answer when the call gave no task. */
  emptyText: string;
  /** The answer once the work is started. */
  startedText: string;
  /** The idempotency key is `${keyPrefix}:${turn task id}:${n}`. */
  keyPrefix: string;
  start(task: string, idempotencyKey: string): Promise<unknown>;
}

export function taskTool(spec: TaskToolSpec, turn: ToolTurn): TurnTool {
  let calls = 0;
  return {
    definition: {
      name: spec.name,
      description: spec.description,
      parameters: {
        type: 'object',
        properties: { task: { type: 'string', description: spec.taskDescription } },
        required: ['task'],
      },
    },
    async call(argumentsJson) {
      const n = ++calls;
      const task = taskArgument(argumentsJson);
      if (!task) return spec.emptyText;
      await spec.start(task, `${spec.keyPrefix}:${turn.taskId}:${n}`);
      return spec.startedText;
    },
  };
}

/** Whether some registered worker serves `capability`. */
export async function workerServes(queue: TaskQueue, capability: string): Promise<boolean> {
  const workers = await queue.listWorkers();
  return workers.some((w) => w.capabilities.includes(capability));
}

/** The `task` string of the tool's arguments (a bare string is taken as the task too). */
function taskArgument(json: string): string {
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed === 'string') return parsed.trim();
    const task = (parsed as { task?: unknown } | null)?.task;
    return typeof task === 'string' ? task.trim() : '';
  } catch {
    return '';
  }
}
