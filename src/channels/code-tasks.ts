/**
 * A chat's coding tasks on the queue: starting one (`/code TASK`, or the chat model's
 * `delegate_coding_task` tool) and cancelling the running ones (`/cancel`). The gateway and the turn
 * handler share these, so that both ways in make the same task: an `agent.code` task whose payload names
 * the chat to reply to, deduplicated by a key from the message that asked for it.
 *
 * The tool is offered to the chat model only where it can work: the config allows it
 * (agentChatDelegate) and a worker serving the `code` capability is registered right now.
 */
import { CODE_CAPABILITY, CODE_TASK_KIND, type CodeTaskPayload } from '../agent/code-contract.js';
import type { TurnTool } from '../pipeline/types.js';
import type { TaskQueue, TaskState } from '../tasks/types.js';
import { taskTool, workerServes, type ToolTurn } from './task-tool.js';
import { replyTarget } from './turn-task.js';
import type { InboundMessage } from './types.js';

export const DELEGATE_TOOL_NAME = 'delegate_coding_task';
export const DELEGATED_TEXT =
  "I've started a coding task for that. I'll send you the summary and the changes here when it's done.";
export const DELEGATE_EMPTY_TEXT = "I couldn't start a coding task: I didn't get what it should do.";
export const CANCELLED_ONE_TEXT = 'Cancelled the coding task.';
export const NOTHING_TO_CANCEL_TEXT = 'Nothing to cancel.';

/** Whether some registered worker serves coding tasks. */
export function codeWorkerAvailable(queue: TaskQueue): Promise<boolean> {
  return workerServes(queue, CODE_CAPABILITY);
}

export interface CodeRequest {
  /** The message that asked (its chat gets the status, the summary and the changes). */
  message: InboundMessage;
  task: string;
  /** The user spoke: the summary goes back as a voice note too. */
  spoke?: boolean;
  language?: string;
  /** Deduplicates: the same key gives the same task (a redelivered message, a retried turn). */
  idempotencyKey: string;
  /** The chat model asked for it (delegate_coding_task), not the user's `/code`. */
  delegated?: boolean;
}

export async function enqueueCodeTask(queue: TaskQueue, r: CodeRequest): Promise<string> {
  const payload: CodeTaskPayload = {
    task: r.task,
    reply: replyTarget(r.message),
    ...(r.spoke ? { spoke: true } : {}),
    ...(r.language ? { language: r.language } : {}),
    ...(r.delegated ? { delegated: true } : {}),
  };
  return queue.enqueue({
    kind: CODE_TASK_KIND,
    capability: CODE_CAPABILITY,
    payload,
    idempotencyKey: r.idempotencyKey,
  });
}

const UNFINISHED: TaskState[] = ['queued', 'active', 'retrying'];

/** The coding tasks this user started in this chat that have not finished, oldest first. */
export async function unfinishedCodeTasks(queue: TaskQueue, msg: InboundMessage): Promise<string[]> {
  const ids: { id: string; createdAt: number }[] = [];
  for (const state of UNFINISHED) {
    for (const t of await queue.list({ capability: CODE_CAPABILITY, state, limit: 1000 })) {
      const reply = (t.payload as CodeTaskPayload | undefined)?.reply;
      if (
        t.kind === CODE_TASK_KIND &&
        reply?.channel === msg.channel &&
        reply.chatId === msg.chatId &&
        reply.userId === msg.userId
      )
        ids.push({ id: t.id, createdAt: t.createdAt });
    }
  }
  return ids.sort((a, b) => a.createdAt - b.createdAt).map((t) => t.id);
}

/** `/cancel`: cancels the user's unfinished coding tasks in this chat; answers what to tell them. */
export async function cancelCodeTasks(queue: TaskQueue, msg: InboundMessage): Promise<string> {
  let cancelled = 0;
  for (const id of await unfinishedCodeTasks(queue, msg)) if (await queue.cancel(id)) cancelled++;
  if (cancelled === 0) return NOTHING_TO_CANCEL_TEXT;
  return cancelled === 1 ? CANCELLED_ONE_TEXT : `Cancelled ${cancelled} coding tasks.`;
}

/** Starts coding tasks for a chat turn: what the turn handler needs to offer the tool. */
export interface CodeDelegation {
  /** Whether to offer the tool now. */
  available(): Promise<boolean>;
  start(r: CodeRequest): Promise<string>;
}

export function queueDelegation(queue: TaskQueue, enabled: boolean): CodeDelegation {
  return {
    available: async () => enabled && (await codeWorkerAvailable(queue)),
    start: (r) => enqueueCodeTask(queue, r),
  };
}

/**
 * The `delegate_coding_task` tool for one turn: a call enqueues a coding task replying to the turn's chat
 * (the n-th call of a turn keeps its key, so a retried turn makes no second task).
 */
export function delegateTool(delegation: CodeDelegation, turn: ToolTurn): TurnTool {
  return taskTool(
    {
      name: DELEGATE_TOOL_NAME,
      description:
        'Hand a task that needs code to the coding agent: writing a script or program, fixing or changing ' +
        'code, running tests or commands. It works in a sandbox and sends the user a summary and the ' +
        'changed files when done. Describe the whole task; answer the user briefly afterwards.',
      taskDescription: 'What to build or fix, with every detail the user gave',
      emptyText: DELEGATE_EMPTY_TEXT,
      startedText: DELEGATED_TEXT,
      keyPrefix: 'delegate',
      start: (task, idempotencyKey) =>
        delegation.start({
          message: turn.message,
          task,
          spoke: turn.spoke,
          ...(turn.language ? { language: turn.language } : {}),
          idempotencyKey,
          delegated: true,
        }),
    },
    turn,
  );
}
