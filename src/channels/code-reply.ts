/**
 * Sends a finished coding run back to the chat that asked for it (`/code TASK`): the summary as text and
 * the diff as a file where the channel can send files (otherwise the diff follows as text). Each part is
 * a recorded step of the task, so a retried task sends nothing twice. Replies are text only, since a
 * `/code` request is always typed.
 */
import type { CodeRunReply } from '../agent/code-handler.js';
import type { Logger } from '../observability/logger.js';
import { deliverReply, sendWithRetry } from './delivery.js';
import type { ChannelAdapter } from './types.js';

/** The summary line for a run's result: its answer, or why it stopped. */
export function codeSummary(result: Record<string, unknown>): string {
  const status = String(result.status ?? 'unknown');
  const answer = typeof result.answer === 'string' ? result.answer.trim() : '';
  const steps = typeof result.steps === 'number' ? ` after ${result.steps} steps` : '';
  const head = status === 'completed' ? `Done${steps}.` : `The coding task stopped (${status})${steps}.`;
  return answer ? `${head}\n${answer}` : head;
}

export function codeReplySender(
  adapter: (name: string) => ChannelAdapter | undefined,
  logger: Logger,
): (r: CodeRunReply) => Promise<void> {
  return async ({ target, result, once, signal }) => {
    const channel = adapter(target.channel);
    if (!channel) {
      logger.warn({ channel: target.channel }, 'no adapter for the channel a coding task came from');
      return;
    }
    const opts = { once, signal, logger };
    await deliverReply(channel, target, { text: codeSummary(result) }, opts);
    const diff = typeof result.diff === 'string' ? result.diff : '';
    if (!diff.trim()) return;
    const runId = typeof result.runId === 'string' ? result.runId : 'run';
    if (channel.sendDocument) {
      const doc = { data: Buffer.from(diff), fileName: `${runId}.diff`, mimeType: 'text/x-diff' };
      await once('deliver:diff', () =>
        sendWithRetry(() => channel.sendDocument!(target, doc, 'The changes'), opts),
      );
    } else {
      await deliverReply(
        channel,
        target,
        { text: diff },
        { ...opts, once: (s, fn) => once(`diff:${s}`, fn) },
      );
    }
  };
}
