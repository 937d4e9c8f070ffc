/**
 * The task handler for a message from any channel: download the audio, run the voice/text turn with the
 * conversation's history (and, where a worker serves `code`, the delegate_coding_task tool, so the model
 * can hand work that needs code to the coding agent; where one serves `plan`, the plan_task tool for
 * work of several steps), store the turn, keep the reply audio, deliver the
 * reply. Idempotent by task id:
 * the stored turn and every delivered part are recorded steps, so a re-run after a crash sends nothing twice.
 *
 * Failures: bad audio (non-retryable) is answered with its clear sentence and the task ends dead with the
 * reason kept; other failures are retried by the queue, and the user hears about them on the last attempt.
 * While a provider is down (a model server restarting) the task waits in the queue; the user is told once.
 */
import type { VoicePipeline } from '../pipeline/voice-pipeline.js';
import type { TurnEvent, TurnResult } from '../pipeline/types.js';
import type { HandlerContext, HandlerRegistry } from '../tasks/handlers.js';
import { outageOf, toJuneError } from '../util/errors.js';
import type { AudioStore } from './audio-store.js';
import { delegateTool, type CodeDelegation } from './code-tasks.js';
import { deliverReply, sendWithRetry } from './delivery.js';
import { planTool, type PlanDelegation } from './plan-tasks.js';
import { progressReporter } from './sentence-audio.js';
import { CHANNEL_TEXT_KIND, CHANNEL_VOICE_KIND, replyTarget, type ChannelTurnPayload } from './turn-task.js';
import type { ConversationStore, VoiceMode } from './store/conversations.js';
import type { ChannelAdapter } from './types.js';

/** Told once per message while a provider it needs is down and the task waits for it. */
export const OUTAGE_NOTICE = "I'm having trouble thinking right now; I'll answer as soon as I can.";

export interface ChannelTurnResult {
  status: TurnResult['status'];
  transcript?: string;
  text: string;
  language?: string;
  audioId?: string;
  audioDurationSec?: number;
  notes: string[];
  timings: TurnResult['timings'];
}

export interface TurnHandlerDeps {
  pipeline: () => Promise<VoicePipeline>;
  conversations: ConversationStore;
  audio: AudioStore;
  adapter: (channel: string) => ChannelAdapter | undefined;
  historyMaxTokens: number;
  historyTurns: number;
  defaultVoiceMode: VoiceMode;
  /**
   * Whether a channel's replies are also kept sentence by sentence as they are spoken, for a follower
   * that plays them as they come (the web page; see sentence-audio.ts). Default: none.
   */
  sentenceClips?: (channel: string) => boolean;
  /**
   * Lets the chat model start coding tasks (the delegate_coding_task tool), offered in a turn only while
   * `available()` says so. Absent: the model gets no tools.
   */
  delegate?: CodeDelegation;
  /**
   * Lets the chat model start multi-step tasks (the plan_task tool), offered while `available()` says so.
   */
  planner?: PlanDelegation;
}

/** Progress events worth recording for live followers (not every token: sentences are enough). */
function progressOf(e: TurnEvent): { stage: string; data: unknown } | undefined {
  switch (e.type) {
    case 'stage_end':
      return { stage: e.stage, data: { durationMs: Math.round(e.durationMs), ok: e.ok } };
    case 'transcript':
      return { stage: 'transcript', data: { text: e.transcript.text, language: e.transcript.language } };
    case 'sentence':
      return { stage: 'sentence', data: { index: e.index, text: e.text } };
    case 'retract':
      return { stage: 'retract', data: { sentences: e.sentences } };
    default:
      return undefined;
  }
}

/**
 * The notes said in the chat with the reply: how the message was heard when a less accurate engine stood
 * in (always), and why there is no voice when one was asked for. The web page shows every note.
 */
function chatNotes(result: TurnResult, speak: boolean): string[] {
  const heard = result.transcript?.note;
  const noVoice = !result.audio && speak ? result.notes.find((n) => n !== heard) : undefined;
  return [heard, noVoice].filter((n): n is string => !!n);
}

export function registerChannelTurnHandler(registry: HandlerRegistry, deps: TurnHandlerDeps): void {
  const handler = (ctx: HandlerContext<ChannelTurnPayload>) => runChannelTurn(ctx, deps);
  registry.register(CHANNEL_VOICE_KIND, 'voice', handler);
  registry.register(CHANNEL_TEXT_KIND, 'chat', handler);
}

export async function runChannelTurn(
  ctx: HandlerContext<ChannelTurnPayload>,
  deps: TurnHandlerDeps,
): Promise<ChannelTurnResult> {
  const { message, attachment } = ctx.task.payload;
  const adapter = deps.adapter(message.channel);
  const target = replyTarget(message);
  const ref = { channel: message.channel, chatId: message.chatId, userId: message.userId };
  const prefs = deps.conversations.prefs(ref);
  const mode = prefs.voiceMode ?? deps.defaultVoiceMode;
  const speak = message.speak ?? (mode === 'always' || (mode === 'auto' && attachment !== undefined));
  const deliveryOpts = { once: ctx.once, signal: ctx.signal, logger: ctx.logger };
  const clips = deps.sentenceClips?.(message.channel) === true;
  const progress = progressReporter({
    taskId: ctx.task.id,
    reportProgress: (stage, data) => ctx.reportProgress(stage, data),
    ...(clips ? { audio: deps.audio } : {}),
    logger: ctx.logger,
  });

  // typing / recording indicator while working; platforms expire it after ~5 s
  const activity = speak ? 'record_voice' : 'typing';
  const ping = () => void adapter?.sendActivity(target, activity).catch(() => undefined);
  ping();
  const timer = setInterval(ping, 4000);
  timer.unref();
  try {
    const audio = attachment && adapter ? await adapter.download(attachment, ctx.signal) : undefined;
    if (attachment && !adapter) throw new Error(`channel ${message.channel} is not running in this process`);
    const pipeline = await deps.pipeline();
    // the one place both turn facts are decided: whether to speak (above) and how much history to send
    const history = deps.conversations.history(ref, deps.historyMaxTokens, deps.historyTurns);
    const turn = {
      message,
      taskId: ctx.task.id,
      spoke: attachment !== undefined,
      ...(prefs.language ? { language: prefs.language } : {}),
    };
    const offered = [
      ...(deps.delegate && (await deps.delegate.available()) ? [delegateTool(deps.delegate, turn)] : []),
      ...(deps.planner && (await deps.planner.available()) ? [planTool(deps.planner, turn)] : []),
    ];
    const tools = offered.length > 0 ? offered : undefined;
    const common = {
      platform: message.channel,
      ...(tools ? { tools } : {}),
      history,
      speak,
      signal: ctx.signal,
      ...(prefs.language ? { language: prefs.language } : {}),
      onEvent: (e: TurnEvent) => {
        if (clips && e.type === 'audio_chunk' && e.pcm) return progress.clip(e.index, e.durationSec, e.pcm);
        const p = progressOf(e);
        if (!p) return;
        if (clips) progress.report(p.stage, p.data);
        else void ctx.reportProgress(p.stage, p.data).catch(() => undefined);
      },
    };
    const result = audio
      ? await pipeline.run({ kind: 'audio', audio, ...common })
      : await pipeline.run({ kind: 'text', text: message.text ?? '', ...common });
    // every clip is recorded before the task can end, so a follower sees them all before `completed`
    await progress.settled();

    if (result.newMessages.length > 0) {
      await ctx.once('conversation', async () => {
        deps.conversations.appendMessages(
          ref,
          ctx.task.id,
          result.newMessages,
          result.reasoning || undefined,
        );
        return true;
      });
    }
    const audioId = result.audio
      ? await deps.audio.save(ctx.task.id, result.audio.data, result.audio.format)
      : undefined;
    if (adapter) {
      const voice = result.audio
        ? { data: result.audio.data, mimeType: result.audio.mimeType, durationSec: result.audio.durationSec }
        : undefined;
      const notes = chatNotes(result, speak)
        .map((n) => `\n\n(${n})`)
        .join('');
      await deliverReply(
        adapter,
        target,
        { text: result.text + notes, ...(voice ? { voice } : {}) },
        deliveryOpts,
      );
    }
    return {
      status: result.status,
      ...(result.transcript ? { transcript: result.transcript.text } : {}),
      text: result.text,
      ...(result.language ? { language: result.language } : {}),
      ...(audioId ? { audioId, audioDurationSec: result.audio!.durationSec } : {}),
      notes: result.notes,
      timings: result.timings,
    };
  } catch (err) {
    const e = toJuneError(err);
    const retried = ctx.willRetry(e);
    const tell = (step: string, text: string) =>
      ctx
        .once(step, () => sendWithRetry(() => adapter!.sendText(target, text), deliveryOpts))
        .catch((sendErr: unknown) =>
          ctx.logger.warn({ err: String(sendErr) }, 'could not tell the user about the failure'),
        );
    // the task waits in the queue while a model server restarts: say so once, not at every probe
    if (retried && adapter && outageOf(e)) await tell('deliver:outage', OUTAGE_NOTICE);
    if (!retried && adapter && e.code !== 'cancelled') await tell('deliver:error', e.userMessage);
    throw e;
  } finally {
    clearInterval(timer);
  }
}
