/**
 * The front door every channel shares. For each inbound message, in this order:
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
import type { TaskQueue } from '../tasks/types.js';
import { runCommand, parseCommand } from './commands.js';
import { sendWithRetry } from './delivery.js';
import type { RateLimiter } from './rate-limit.js';
import type { AccessControl } from './store/access.js';
import { conversationKey, type ConversationStore } from './store/conversations.js';
import type { ChannelAdapter, InboundAttachment, InboundMessage, ReplyTarget } from './types.js';

/** Task kinds: voice turns need STT (capability voice); text turns only the LLM (capability chat). */
export const CHANNEL_VOICE_KIND = 'channel.voice';
export const CHANNEL_TEXT_KIND = 'channel.text';

export type AcceptOutcome =
  | { kind: 'enqueued'; taskId: string }
  | { kind: 'ignored'; reason: 'group_not_allowed' | 'not_addressed' | 'empty' }
  | { kind: 'stranger' }
  | { kind: 'owner_paired' }
  | { kind: 'command' }
  | { kind: 'rate_limited' }
  | { kind: 'rejected'; reason: 'too_large' | 'unsupported' };

export interface ChannelTurnPayload {
  message: InboundMessage;
  /** The audio to transcribe, when the message has one. */
  attachment?: InboundAttachment;
}

export interface GatewayDeps {
  queue: TaskQueue;
  access: AccessControl;
  conversations: ConversationStore;
  rateLimiter: RateLimiter;
  allowGroups: readonly string[];
  logger: Logger;
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

export function replyTarget(msg: InboundMessage): ReplyTarget {
  return { channel: msg.channel, chatId: msg.chatId, userId: msg.userId, replyToMessageId: msg.messageId };
}

const mb = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;

/** "/start CODE" or the code alone: what the owner sends to pair with the setup code. */
const SETUP_MESSAGE = /^(?:\/start(?:@\S+)?\s+)?([A-Za-z2-9][A-Za-z2-9 -]{10,20})$/;

/** Messages whose intake failed after the rate limit counted them: a retry is not counted again. */
const MAX_COUNTED = 10_000;

export class ChannelGateway {
  private readonly counted = new Set<string>();

  constructor(private readonly deps: GatewayDeps) {}

  /** What a stranger in a private chat is told, if anything; `owner` when they paired as the owner. */
  private strangerAnswer(msg: InboundMessage): { text: string; owner?: true } | undefined {
    const { access } = this.deps;
    const offered = SETUP_MESSAGE.exec(msg.text?.trim() ?? '')?.[1];
    if (offered && access.claimOwnership(msg.channel, msg.userId, offered, msg.userName))
      return { text: "Welcome! You're my owner now. Send me a voice message or type to start.", owner: true };
    if (!access.takeStrangerAnswer(msg.channel, msg.userId)) return undefined;
    const req = access.requestPairing(msg.channel, msg.userId, msg.chatId, msg.userName);
    switch (req.kind) {
      case 'code':
        return {
          text:
            `Hi! I'm a private assistant and I don't know you yet. Your pairing code is ${req.code}. ` +
            `Ask my owner to run: june pairing approve ${msg.channel} ${req.code} (the code is valid for one hour).`,
        };
      case 'too_many_pending':
        return { text: 'Too many pairing requests are waiting right now. Please try again later.' };
      case 'cooling_down':
        return { text: "I can't give you a pairing code right now. Please try again later." };
    }
  }

  /**
   * `redelivered`: the message was counted by the rate limit when it first arrived (a parked update taken
   * in again), so it is not counted twice.
   */
  async accept(
    msg: InboundMessage,
    adapter: ChannelAdapter,
    options: { redelivered?: boolean } = {},
  ): Promise<AcceptOutcome> {
    const { logger } = this.deps;
    const log = logger.child({
      channel: msg.channel,
      chatId: msg.chatId,
      userId: msg.userId,
      messageId: msg.messageId,
    });
    const target = replyTarget(msg);
    const say = (text: string) =>
      sendWithRetry(() => adapter.sendText(target, text), { logger }).catch((err: unknown) =>
        log.warn({ err: String(err) }, 'could not send a gateway reply'),
      );

    if (msg.chatType === 'group') {
      if (!this.deps.allowGroups.includes(`${msg.channel}:${msg.chatId}`)) {
        log.debug('message in a group that is not allowed; ignored');
        return { kind: 'ignored', reason: 'group_not_allowed' };
      }
      if (!msg.mentioned && !msg.repliedToBot) return { kind: 'ignored', reason: 'not_addressed' };
    }

    if (!adapter.authenticatesUsers && !this.deps.access.isAllowed(msg.channel, msg.userId)) {
      // in groups strangers are ignored silently: a pairing code is only ever handed out in private
      const answer = msg.chatType === 'private' ? this.strangerAnswer(msg) : undefined;
      if (answer) await say(answer.text);
      log.info(
        { paired: answer?.owner ?? false },
        answer?.owner ? 'the owner paired with the setup code' : 'message from a stranger; not processed',
      );
      return answer?.owner ? { kind: 'owner_paired' } : { kind: 'stranger' };
    }

    const ref = { channel: msg.channel, chatId: msg.chatId, userId: msg.userId };
    const command = parseCommand(msg.text);
    if (command && msg.attachments.length === 0) {
      const answer = runCommand(command.name, command.args, ref, this.deps.conversations);
      if (answer !== undefined) {
        await say(answer);
        return { kind: 'command' };
      }
    }

    const messageKey = `${msg.channel}:${msg.chatId}:${msg.messageId}`;
    if (
      !options.redelivered &&
      !this.counted.has(messageKey) &&
      !(await this.deps.rateLimiter.take(`${msg.channel}:${msg.userId}`))
    ) {
      await say(
        "You're sending messages faster than I can answer. Please slow down and try again in a minute.",
      );
      log.info('rate limited');
      return { kind: 'rate_limited' };
    }

    const audio = audioAttachment(msg);
    if (audio?.sizeBytes !== undefined && audio.sizeBytes > adapter.limits.maxDownloadBytes) {
      await say(
        `That file is ${mb(audio.sizeBytes)}, and I can only download files up to ${mb(adapter.limits.maxDownloadBytes)}. ` +
          'Please send a shorter recording.',
      );
      return { kind: 'rejected', reason: 'too_large' };
    }
    const text = msg.text?.trim();
    if (!audio && !text) {
      if (msg.attachments.length > 0) {
        await say('I can only understand text and voice or audio messages for now.');
        return { kind: 'rejected', reason: 'unsupported' };
      }
      return { kind: 'ignored', reason: 'empty' };
    }

    const payload: ChannelTurnPayload = { message: msg, ...(audio ? { attachment: audio } : {}) };
    // a message whose intake fails is tried again (redelivered, then parked): it is counted only once
    this.counted.add(messageKey);
    if (this.counted.size > MAX_COUNTED) this.counted.delete(this.counted.values().next().value!);
    const taskId = await this.deps.queue.enqueue({
      kind: audio ? CHANNEL_VOICE_KIND : CHANNEL_TEXT_KIND,
      capability: audio ? 'voice' : 'chat',
      payload,
      conversationKey: conversationKey(ref),
      idempotencyKey: messageKey,
    });
    this.counted.delete(messageKey);
    log.info({ taskId, audio: Boolean(audio) }, 'message accepted');
    return { kind: 'enqueued', taskId };
  }
}
