/**
 * The `agent.code` task's contract, apart from the handler so that the channel gateway and the web routes
 * can enqueue coding tasks without loading the agent, its providers and its sandbox.
 */

export const CODE_TASK_KIND = 'agent.code';
export const CODE_CAPABILITY = 'code';

/** Where a coding task's result goes when it came from a chat (the channel's reply target). */
export interface CodeReplyTarget {
  channel: string;
  chatId: string;
  userId: string;
  replyToMessageId?: string;
}

export interface CodeTaskPayload {
  task: string;
  /** A project directory on the worker's machine, within its JUNE_AGENT_PROJECTS. */
  project?: string;
  /** The chat to send the summary and the diff to when the run ends (absent: the result is only recorded). */
  reply?: CodeReplyTarget;
  /** The user asked by voice (a voice note the chat model delegated): the summary goes back spoken too. */
  spoke?: boolean;
  /** The language the user spoke in, for the spoken summary's voice. */
  language?: string;
  /**
   * The chat model handed the task over (delegate_coding_task): the user's words are already in the
   * conversation, so only the run's outcome is added to it; a `/code TASK` run adds the request too.
   */
  delegated?: boolean;
}
