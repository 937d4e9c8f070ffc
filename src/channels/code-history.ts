/**
 * A finished coding run, kept in the conversation of the chat that asked for it, so that the chat model
 * knows afterwards what the run did ("what did the script do?"): the summary goes to the chat as a message
 * of its own, which the conversation history would otherwise never see. The run is stored under its task
 * id (the conversation keeps at most one message per task and role): the request as the user's message
 * for a `/code TASK` run (a delegated run's request is already there, in the turn that delegated it), and
 * the outcome (status, summary, files changed) as the assistant's.
 */
import type { CodeRunRecord } from '../agent/code-handler.js';
import type { ChatMessage } from '../providers/types.js';
import { codeSummary } from './code-reply.js';
import type { ConversationStore } from './store/conversations.js';

const MAX_FILES = 20;

/** The files a unified diff changes (the new name; the old one for a deleted file), in order, once each. */
export function changedFiles(diff: string): string[] {
  const files: string[] = [];
  for (const m of diff.matchAll(/^diff --git a\/(.+?) b\/(.+)$/gm)) {
    const name = m[2]!;
    if (!files.includes(name)) files.push(name);
  }
  return files;
}

/** The request as the user said it: the command that started the run. */
export function codeRequestText(task: string): string {
  return `/code ${task}`;
}

/** What the conversation keeps of a run's outcome. */
export function codeOutcomeText(task: string, result: Record<string, unknown>): string {
  const lines = [`Coding task: ${task}`];
  if (result.status === 'cancelled' && typeof result.answer !== 'string')
    lines.push('Cancelled before it finished.');
  else lines.push(codeSummary(result));
  const files = changedFiles(typeof result.diff === 'string' ? result.diff : '');
  if (files.length) {
    const more = files.length > MAX_FILES ? ` and ${files.length - MAX_FILES} more` : '';
    lines.push(`Files changed: ${files.slice(0, MAX_FILES).join(', ')}${more}.`);
  } else if (result.status === 'completed') lines.push('No files changed.');
  return lines.join('\n');
}

export function codeRunRecorder(conversations: ConversationStore): (r: CodeRunRecord) => Promise<void> {
  return async ({ taskId, target, task, delegated, result }) => {
    const ref = { channel: target.channel, chatId: target.chatId, userId: target.userId };
    const messages: ChatMessage[] = [
      ...(delegated ? [] : [{ role: 'user' as const, content: codeRequestText(task) }]),
      { role: 'assistant', content: codeOutcomeText(task, result) },
    ];
    conversations.appendMessages(ref, taskId, messages);
  };
}
