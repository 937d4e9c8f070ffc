/**
 * The contract between the gateway, which turns a message into a task, and the workers that run it: the
 * task kinds, the payload, and where the reply goes. Kept apart from the gateway so the turn handler,
 * the web routes and the task views depend on the contract, not on the gateway's decisions.
 */
import type { InboundAttachment, InboundMessage, ReplyTarget } from './types.js';

/** Task kinds: voice turns need STT (capability voice); text turns only the LLM (capability chat). */
export const CHANNEL_VOICE_KIND = 'channel.voice';
export const CHANNEL_TEXT_KIND = 'channel.text';

export interface ChannelTurnPayload {
  message: InboundMessage;
  /** The audio to transcribe, when the message has one. */
  attachment?: InboundAttachment;
}

/** Where the answer to a message goes: its chat, as a reply to it. */
export function replyTarget(msg: InboundMessage): ReplyTarget {
  return { channel: msg.channel, chatId: msg.chatId, userId: msg.userId, replyToMessageId: msg.messageId };
}
