/**
 * The front door every channel shares. It decides, like a Hono handler that returns its response: for each
 * inbound message `accept` returns an outcome, either "accepted as task X" or a reply to send (a pairing
 * code, a command's answer, the rate-limit text…), and sends nothing itself: the adapter's caller
 * (`sendOutcomeReply`) or the web route answers. In this order:
 *   groups: only allowed groups, and only when June is mentioned or replied to;
 *   access: strangers get a pairing code and nothing else (their words never reach the LLM), at most once
 *     per interval; until an owner exists, whoever sends the setup code becomes the owner;
 *   commands: answered at once;
 *   rate limit: a clear "slow down";
 *   attachments: too large / unsupported get a clear sentence;
 *   then the message becomes a durable task (deduplicated by platform message id) BEFORE the adapter
 *   acknowledges the update to the platform, so nothing accepted is ever lost.
 */
import type { Logger } from '../observability/logger.js';
import { currentTraceparent } from '../observability/trace-context.js';
import { withSpan } from '../observability/tracing.js';
import type { TaskQueue } from '../tasks/types.js';
import {
  cancelCodeTasks,
  codeWorkerAvailable,
  enqueueCodeTask,
  NOTHING_TO_CANCEL_TEXT,
} from './code-tasks.js';
import { findCommand, parseCommand } from './commands.js';
import {
  approvePlan,
  cancelPlans,
  enqueuePlanRun,
  NO_PLAN_WORKER_TEXT,
  planWorkerAvailable,
  type CancelTree,
} from './plan-tasks.js';
import { sendWithRetry } from './delivery.js';
import type { RateLimiter } from './rate-limit.js';
import type { AccessControl } from './store/access.js';
import { conversationKey, type ConversationStore } from './store/conversations.js';
import { CHANNEL_TEXT_KIND, CHANNEL_VOICE_KIND, replyTarget, type ChannelTurnPayload } from './turn-task.js';
import type { ChannelAdapter, InboundAttachment, InboundMessage } from './types.js';

/** Why the gateway answers instead of making a task. */
export type ReplyReason =
  'pairing' | 'owner_paired' | 'command' | 'rate_limited' | 'too_large' | 'unsupported';

export type AcceptOutcome =
  | { kind: 'accepted'; taskId: string }
  | { kind: 'reply'; reason: ReplyReason; text: string }
  | { kind: 'ignored'; reason: 'group_not_allowed' | 'not_addressed' | 'empty' | 'stranger' };

/** What the gateway needs to know about the channel a message came from. */
export type ChannelTraits = Pick<ChannelAdapter, 'limits' | 'authenticatesUsers'>;

export interface AcceptOptions {
  /**
   * The message was counted by the rate limit when it first arrived (a parked update taken in again), so
   * it is not counted twice.
   */
  redelivered?: boolean;
}

export interface GatewayDeps {
  queue: TaskQueue;
  access: AccessControl;
  conversations: ConversationStore;
  rateLimiter: RateLimiter;
  allowGroups: readonly string[];
  logger: Logger;
  /** Cancels a plan tree (the planner's cancelTree); without it /cancel leaves plans alone. */
  cancelPlanTree?: CancelTree;
}

const AUDIO_MIME = /^(audio\/|video\/(ogg|webm|mp4|quicktime))/;

/** The attachment June can listen to: voice notes, audio files, video notes, audio documents. */
export function audioAttachment(msg: InboundMessage): InboundAttachment | undefined {
  return msg.attachments.find(
    (a) =>
      a.kind === 'voice' ||
      a.kind === 'audio' ||
      a.kind === 'video_note' ||
      (a.kind === 'document' && AUDIO_MIME.test(a.mimeType ?? '')) ||
      (a.kind === 'video' && a.mimeType !== undefined && AUDIO_MIME.test(a.mimeType)),
  );
}

const mb = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;

/** "/start CODE" or the code alone: what the owner sends to pair with the setup code. */
const SETUP_MESSAGE = /^(?:\/start(?:@\S+)?\s+)?([A-Za-z2-9][A-Za-z2-9 -]{10,20})$/;

/** Messages whose intake failed after the rate limit counted them: a retry is not counted again. */
const MAX_COUNTED = 10_000;

export const RATE_LIMITED_TEXT =
  "You're sending messages faster than I can answer. Please slow down and try again in a minute.";
export const UNSUPPORTED_TEXT = 'I can only understand text and voice or audio messages for now.';
export const NO_CODE_WORKER_TEXT =
  'No worker here can run coding tasks right now (none serves the "code" capability). ' +
  'Ask the owner to start one with JUNE_WORKER_CAPABILITIES including code.';
export const OWNER_PAIRED_TEXT = "Welcome! You're my owner now. Send me a voice message or type to start.";

const reply = (reason: ReplyReason, text: string): AcceptOutcome => ({ kind: 'reply', reason, text });

export class ChannelGateway {
  private readonly counted = new Set<string>();

  constructor(private readonly deps: GatewayDeps) {}

  async accept(
    msg: InboundMessage,
    channel: ChannelTraits,
    options: AcceptOptions = {},
  ): Promise<AcceptOutcome> {
    const log = this.deps.logger.child({
      channel: msg.channel,
      chatId: msg.chatId,
      userId: msg.userId,
      messageId: msg.messageId,
    });

    if (msg.chatType === 'group') {
      if (!this.deps.allowGroups.includes(`${msg.channel}:${msg.chatId}`)) {
        log.debug('message in a group that is not allowed; ignored');
        return { kind: 'ignored', reason: 'group_not_allowed' };
      }
      if (!msg.mentioned && !msg.repliedToBot) return { kind: 'ignored', reason: 'not_addressed' };
    }

    if (!channel.authenticatesUsers && !this.deps.access.isAllowed(msg.channel, msg.userId)) {
      // in groups strangers are ignored silently: a pairing code is only ever handed out in private
      const outcome: AcceptOutcome =
        msg.chatType === 'private' ? this.stranger(msg) : { kind: 'ignored', reason: 'stranger' };
      const owner = outcome.kind === 'reply' && outcome.reason === 'owner_paired';
      log.info(
        { paired: owner },
        owner ? 'the owner paired with the setup code' : 'message from a stranger; not processed',
      );
      return outcome;
    }

    const ref = { channel: msg.channel, chatId: msg.chatId, userId: msg.userId };
    const parsed = parseCommand(msg.text);
    const command = parsed && msg.attachments.length === 0 ? findCommand(parsed.name) : undefined;
    if (command && parsed) {
      const text = await command.run({
        args: parsed.args,
        message: msg,
        ref,
        conversations: this.deps.conversations,
        startCode: (task) => this.startCode(msg, task, log),
        cancelCode: () => this.cancel(msg, log),
        startPlan: (request) => this.startPlan(msg, request, log),
        approvePlan: async (taskId) => {
          const text = await approvePlan(this.deps.queue, msg, taskId);
          log.info({ answer: text }, 'plan approval asked for');
          return text;
        },
      });
      return reply('command', text);
    }

    const messageKey = `${msg.channel}:${msg.chatId}:${msg.messageId}`;
    if (
      !options.redelivered &&
      !this.counted.has(messageKey) &&
      !(await this.deps.rateLimiter.take(`${msg.channel}:${msg.userId}`))
    ) {
      log.info('rate limited');
      return reply('rate_limited', RATE_LIMITED_TEXT);
    }

    const audio = audioAttachment(msg);
    const maxBytes = channel.limits.maxDownloadBytes;
    if (audio?.sizeBytes !== undefined && audio.sizeBytes > maxBytes) {
      return reply(
        'too_large',
        `That file is ${mb(audio.sizeBytes)}, and I can only download files up to ${mb(maxBytes)}. ` +
          'Please send a shorter recording.',
      );
    }
    const text = msg.text?.trim();
    if (!audio && !text) {
      if (msg.attachments.length > 0) return reply('unsupported', UNSUPPORTED_TEXT);
      return { kind: 'ignored', reason: 'empty' };
    }

    // a message whose intake fails is tried again (redelivered, then parked): it is counted only once
    this.counted.add(messageKey);
    if (this.counted.size > MAX_COUNTED) this.counted.delete(this.counted.values().next().value!);
    const payload: ChannelTurnPayload = { message: msg, ...(audio ? { attachment: audio } : {}) };
    const capability = audio ? 'voice' : 'chat';
    // the task carries the trace context: the worker that runs it (in another process too) joins the trace
    const taskId = await withSpan('task.enqueue', { 'task.capability': capability }, async (span) => {
      const traceparent = currentTraceparent();
      const id = await this.deps.queue.enqueue({
        kind: audio ? CHANNEL_VOICE_KIND : CHANNEL_TEXT_KIND,
        capability,
        payload,
        conversationKey: conversationKey(ref),
        idempotencyKey: messageKey,
        ...(traceparent ? { traceparent } : {}),
      });
      span.setAttribute('task.id', id);
      return id;
    });
    this.counted.delete(messageKey);
    log.info({ taskId, audio: Boolean(audio) }, 'message accepted');
    return { kind: 'accepted', taskId };
  }

  /**
   * `/code TASK`: an `agent.code` task carrying where the reply goes, when a worker serves `code`.
   * Deduplicated by the platform message id, like a turn.
   */
  private async startCode(msg: InboundMessage, task: string, log: Logger): Promise<string> {
    if (!(await codeWorkerAvailable(this.deps.queue))) {
      log.info('a coding task was asked for, but no worker serves the code capability');
      return NO_CODE_WORKER_TEXT;
    }
    const taskId = await enqueueCodeTask(this.deps.queue, {
      message: msg,
      task,
      idempotencyKey: `code:${msg.channel}:${msg.chatId}:${msg.messageId}`,
    });
    log.info({ taskId }, 'coding task accepted');
    return `On it (task ${taskId}). I'll send a summary and the changes when I'm done; /cancel stops it.`;
  }

  /** `/cancel`: the user's coding tasks and plan trees in this chat. */
  private async cancel(msg: InboundMessage, log: Logger): Promise<string> {
    const code = await cancelCodeTasks(this.deps.queue, msg);
    const plans = this.deps.cancelPlanTree
      ? await cancelPlans(this.deps.queue, msg, this.deps.cancelPlanTree)
      : 0;
    log.info({ answer: code, plans }, 'cancel asked for');
    if (plans === 0) return code;
    const planText = plans === 1 ? 'Cancelled the plan.' : `Cancelled ${plans} plans.`;
    return code === NOTHING_TO_CANCEL_TEXT ? planText : `${code} ${planText}`;
  }

  /** `/plan TASK`: a `plan.run` root replying to this chat, when a worker serves `plan`. */
  private async startPlan(msg: InboundMessage, request: string, log: Logger): Promise<string> {
    if (!(await planWorkerAvailable(this.deps.queue))) {
      log.info('a plan was asked for, but no worker serves the plan capability');
      return NO_PLAN_WORKER_TEXT;
    }
    const taskId = await enqueuePlanRun(this.deps.queue, {
      message: msg,
      request,
      forcePlan: true,
      idempotencyKey: `plan:${msg.channel}:${msg.chatId}:${msg.messageId}`,
    });
    log.info({ taskId }, 'plan accepted');
    return `Planning it (task ${taskId}). I'll show you the plan's progress here; /cancel stops it.`;
  }

  /** What a stranger in a private chat is told, if anything: the owner's welcome, a code, or a refusal. */
  private stranger(msg: InboundMessage): AcceptOutcome {
    const { access } = this.deps;
    const offered = SETUP_MESSAGE.exec(msg.text?.trim() ?? '')?.[1];
    if (offered && access.claimOwnership(msg.channel, msg.userId, offered, msg.userName))
      return reply('owner_paired', OWNER_PAIRED_TEXT);
    if (!access.takeStrangerAnswer(msg.channel, msg.userId)) return { kind: 'ignored', reason: 'stranger' };
    const req = access.requestPairing(msg.channel, msg.userId, msg.chatId, msg.userName);
    switch (req.kind) {
      case 'code':
        return reply(
          'pairing',
          `Hi! I'm a private assistant and I don't know you yet. Your pairing code is ${req.code}. ` +
            `Ask my owner to run: june pairing approve ${msg.channel} ${req.code} (the code is valid for one hour).`,
        );
      case 'too_many_pending':
        return reply('pairing', 'Too many pairing requests are waiting right now. Please try again later.');
      case 'cooling_down':
        return reply('pairing', "I can't give you a pairing code right now. Please try again later.");
    }
  }
}

/**
 * Sends the gateway's reply, if the outcome is one, to the message's chat. A reply that cannot be sent is
 * logged, not thrown: the message itself was handled.
 */
export async function sendOutcomeReply(
  outcome: AcceptOutcome,
  msg: InboundMessage,
  adapter: ChannelAdapter,
  logger: Logger,
): Promise<void> {
  if (outcome.kind !== 'reply') return;
  await sendWithRetry(() => adapter.sendText(replyTarget(msg), outcome.text), { logger }).catch(
    (err: unknown) =>
      logger.warn(
        { channel: msg.channel, chatId: msg.chatId, err: String(err) },
        'could not send a gateway reply',
      ),
  );
}
