/**
 * Turns a Telegram message into June's InboundMessage: text or caption, the attachment June can listen to
 * (voice, audio, video note, audio documents) or a kind the gateway answers "unsupported" to, the chat
 * type, and whether the bot was addressed (an @mention, a command for it, or a reply to its message).
 */
import type { CallbackQuery, Message, MessageEntity } from 'grammy/types';
import {
  BUTTON_MESSAGE_PREFIX,
  buttonCommand,
  type InboundAttachment,
  type InboundMessage,
} from '../types.js';

export const TELEGRAM = 'telegram';

export interface BotIdentity {
  id: number;
  /** Without the @. */
  username: string;
}

/** The message as June sees it, or undefined for what June never answers (channel posts, no sender). */
export function toInboundMessage(
  message: Message,
  bot: BotIdentity,
  receivedAt = Date.now(),
): InboundMessage | undefined {
  const from = message.from;
  if (!from || from.is_bot) return undefined;
  const chatType = message.chat.type;
  if (chatType === 'channel') return undefined;

  const rawText = message.text ?? message.caption;
  const entities = message.entities ?? message.caption_entities ?? [];
  const mentioned = rawText !== undefined && mentionsBot(rawText, entities, bot);
  const text = rawText === undefined ? undefined : withoutMention(rawText, bot.username);
  const userName = [from.first_name, from.last_name].filter(Boolean).join(' ') || from.username;
  const attachment = attachmentOf(message);

  return {
    channel: TELEGRAM,
    chatId: String(message.chat.id),
    userId: String(from.id),
    ...(userName ? { userName } : {}),
    messageId: String(message.message_id),
    ...(message.reply_to_message ? { replyToMessageId: String(message.reply_to_message.message_id) } : {}),
    chatType: chatType === 'private' ? 'private' : 'group',
    mentioned,
    repliedToBot: message.reply_to_message?.from?.id === bot.id,
    ...(text ? { text } : {}),
    attachments: attachment ? [attachment] : [],
    receivedAt,
  };
}

/** "@JuneBot", a text_mention of the bot, or a command addressed to it ("/new@JuneBot"). */
function mentionsBot(text: string, entities: readonly MessageEntity[], bot: BotIdentity): boolean {
  const handle = `@${bot.username}`.toLowerCase();
  for (const e of entities) {
    // offsets are in UTF-16 code units, like JavaScript strings
    const part = text.slice(e.offset, e.offset + e.length).toLowerCase();
    if (e.type === 'mention' && part === handle) return true;
    if (e.type === 'text_mention' && e.user.id === bot.id) return true;
    if (e.type === 'bot_command' && part.endsWith(handle)) return true;
  }
  // clients do not always send entities (forwarded text, some bridges); the handle in the text counts too
  const h = escapeRegExp(handle);
  return new RegExp(`(^|[^\\w/])${h}\\b|^/\\w+${h}\\b`, 'i').test(text);
}

/** The text without the bot's @handle, which means nothing to the LLM ("@JuneBot what time is it"). */
function withoutMention(text: string, username: string): string {
  return text
    .replace(new RegExp(`(^|\\s)@${escapeRegExp(username)}\\b[,:]?`, 'gi'), '$1')
    .replace(/[ \t]{2,}/g, ' ')
    .trim();
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function attachmentOf(m: Message): InboundAttachment | undefined {
  const common = (f: { file_id: string; file_size?: number }) => ({
    fileId: f.file_id,
    ...(f.file_size !== undefined ? { sizeBytes: f.file_size } : {}),
  });
  if (m.voice)
    return {
      kind: 'voice',
      ...common(m.voice),
      mimeType: m.voice.mime_type ?? 'audio/ogg',
      durationSec: m.voice.duration,
    };
  if (m.audio)
    return {
      kind: 'audio',
      ...common(m.audio),
      ...(m.audio.mime_type ? { mimeType: m.audio.mime_type } : {}),
      durationSec: m.audio.duration,
      ...(m.audio.file_name ? { fileName: m.audio.file_name } : {}),
    };
  if (m.video_note)
    return {
      kind: 'video_note',
      ...common(m.video_note),
      mimeType: 'video/mp4',
      durationSec: m.video_note.duration,
    };
  // an animation (GIF) also carries a `document`; it has no sound worth hearing
  if (m.animation)
    return { kind: 'other', ...common(m.animation), mimeType: m.animation.mime_type ?? 'video/mp4' };
  if (m.document)
    return {
      kind: 'document',
      ...common(m.document),
      ...(m.document.mime_type ? { mimeType: m.document.mime_type } : {}),
      ...(m.document.file_name ? { fileName: m.document.file_name } : {}),
    };
  if (m.video)
    return {
      kind: 'video',
      ...common(m.video),
      ...(m.video.mime_type ? { mimeType: m.video.mime_type } : {}),
      durationSec: m.video.duration,
    };
  if (m.photo?.length) return { kind: 'image', ...common(m.photo.at(-1)!) };
  if (m.sticker) return { kind: 'image', ...common(m.sticker) };
  // locations, contacts, polls, dice…: nothing to download, but the user should hear they are not understood
  if (m.location || m.contact || m.poll || m.dice || m.venue || m.game || m.story)
    return { kind: 'other', fileId: '' };
  return undefined;
}

/**
 * A pressed inline button (callback_query) as the command it stands for ("/go 123"), from the user who
 * pressed it, so the gateway applies the same access rules as to a typed command. Undefined for a button
 * without data or whose message is gone (too old: Telegram then sends no message).
 */
export function callbackToInbound(query: CallbackQuery, receivedAt = Date.now()): InboundMessage | undefined {
  const message = query.message;
  if (!query.data || !message || query.from.is_bot || message.chat.type === 'channel') return undefined;
  const userName = [query.from.first_name, query.from.last_name].filter(Boolean).join(' ');
  return {
    channel: TELEGRAM,
    chatId: String(message.chat.id),
    userId: String(query.from.id),
    ...(userName || query.from.username ? { userName: userName || query.from.username! } : {}),
    messageId: `${BUTTON_MESSAGE_PREFIX}${query.id}`,
    replyToMessageId: String(message.message_id),
    chatType: message.chat.type === 'private' ? 'private' : 'group',
    // pressing the bot's button is addressing the bot
    mentioned: true,
    repliedToBot: true,
    text: buttonCommand(query.data),
    attachments: [],
    receivedAt,
  };
}
