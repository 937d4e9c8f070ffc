/**
 * Sends a finished coding run back to the chat that asked for it (`/code TASK`, or the chat model's
 * delegate_coding_task): the summary as text, spoken too (a voice note with the text as caption) when the
 * user asked by voice, and the diff as a file where the channel can send files (otherwise the diff follows
 * as text). Each part is a recorded step of the task, so a retried task sends nothing twice, and whether
 * the summary is spoken is decided once (a retry whose TTS fails, or recovers, sends the summary neither
 * twice nor both ways). A summary that cannot be spoken (TTS down) still goes out as text.
 */
import type { CodeRunReply } from '../agent/code-handler.js';
import type { Logger } from '../observability/logger.js';
import { deliverReply, sendWithRetry } from './delivery.js';
import type { ChannelAdapter, VoiceNote } from './types.js';

/** Speaks a text as a voice note (the voice pipeline's TTS and encode); undefined when it cannot. */
export type SpeakSummary = (
  text: string,
  options: { language?: string; signal?: AbortSignal },
) => Promise<VoiceNote | undefined>;

/** What is said aloud: the head line and the first sentences of the answer, not the whole text. */
export function spokenSummary(result: Record<string, unknown>, maxChars = 300): string {
  const text = codeSummary(result)
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, maxChars);
  const end = Math.max(cut.lastIndexOf('. '), cut.lastIndexOf('! '), cut.lastIndexOf('? '));
  return end > 0 ? cut.slice(0, end + 1) : `${cut.replace(/\s+\S*$/, '')}…`;
}

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
  speak?: SpeakSummary,
): (r: CodeRunReply) => Promise<void> {
  return async ({ target, result, spoke, language, once, signal }) => {
    const channel = adapter(target.channel);
    if (!channel) {
      logger.warn({ channel: target.channel }, 'no adapter for the channel a coding task came from');
      return;
    }
    const opts = { once, signal, logger };
    const text = codeSummary(result);
    const trySpeak = async (): Promise<VoiceNote | undefined> =>
      speak!(spokenSummary(result), { ...(language ? { language } : {}), signal }).catch((err: unknown) => {
        logger.warn({ err: String(err) }, 'could not speak the coding summary; sending text only');
        return undefined;
      });
    // Whether the summary goes as a voice note is decided once, by the first attempt, and recorded: a
    // retry whose TTS fails (or works again) must not add the text that the voice note's caption carried,
    // nor a voice note after the text went out as text.
    let voice: VoiceNote | undefined;
    const mode =
      spoke && speak
        ? await once('summary:mode', async () => {
            voice = await trySpeak();
            return voice ? 'voice' : 'text';
          })
        : 'text';
    if (mode !== 'voice') {
      await deliverReply(channel, target, { text }, opts);
    } else {
      const caption = text.length <= channel.limits.maxCaptionLength ? text : undefined;
      // one recorded step: the voice note with its caption, or (a retry that cannot speak any more) the
      // caption as text; never both. A retry after it is done neither speaks nor sends again.
      await once('deliver:voice', async () => {
        const note = voice ?? (await trySpeak());
        if (note) await sendWithRetry(() => channel.sendVoice(target, note, caption), opts);
        else if (caption) await sendWithRetry(() => channel.sendText(target, caption), opts);
        return true;
      });
      // a summary too long for a caption follows as text, each part a step of its own
      if (!caption) await deliverReply(channel, target, { text }, opts);
    }
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
