/**
 * Discord messages and slash commands → June's InboundMessage.
 *
 * DMs are private chats; guild channels are groups, where `mentioned` means the bot itself was @mentioned
 * (directly, or through the role Discord gives every bot, which the mention picker often inserts) and
 * `repliedToBot` means the message replies to one of the bot's messages. Voice messages (the
 * IS_VOICE_MESSAGE flag) and audio files become voice/audio attachments; the attachment URL is what
 * `download` fetches later.
 */
import type { Attachment, ButtonInteraction, ChatInputCommandInteraction, Message } from 'discord.js';
import { buttonCommand, type AttachmentKind, type InboundAttachment, type InboundMessage } from '../types.js';

export const DISCORD_CHANNEL = 'discord';
/** MessageFlags.IsVoiceMessage */
export const IS_VOICE_MESSAGE = 1 << 13;

const AUDIO_EXTENSIONS: Record<string, string> = {
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  wav: 'audio/wav',
  flac: 'audio/flac',
  weba: 'audio/webm',
};

/** The attachment's MIME type without parameters; guessed from the file name when Discord gave none. */
export function attachmentMime(a: Pick<Attachment, 'contentType' | 'name'>): string | undefined {
  const declared = a.contentType?.split(';')[0]?.trim().toLowerCase();
  if (declared) return declared;
  const ext = /\.([a-z0-9]+)$/i.exec(a.name)?.[1]?.toLowerCase();
  return ext ? AUDIO_EXTENSIONS[ext] : undefined;
}

export function attachmentKind(mime: string | undefined, voiceMessage: boolean): AttachmentKind {
  if (mime?.startsWith('audio/')) return voiceMessage ? 'voice' : 'audio';
  if (voiceMessage) return 'voice';
  if (mime?.startsWith('image/')) return 'image';
  if (mime?.startsWith('video/')) return 'video';
  return 'other';
}

export function toInboundAttachment(a: Attachment, voiceMessage: boolean): InboundAttachment {
  const mime = attachmentMime(a);
  return {
    kind: attachmentKind(mime, voiceMessage),
    fileId: a.url,
    sizeBytes: a.size,
    fileName: a.name,
    ...(mime ? { mimeType: mime } : {}),
    ...(typeof a.duration === 'number' ? { durationSec: a.duration } : {}),
  };
}

/** The text as the LLM should see it: the bot's own mentions removed, other user mentions as @names. */
export function cleanText(message: Message, botId: string): string | undefined {
  const text = message.content
    .replace(new RegExp(`<@!?${botId}>`, 'g'), '')
    .replace(/<@&(\d+)>/g, (whole, id: string) =>
      message.mentions.roles.get(id)?.tags?.botId === botId ? '' : whole,
    )
    .replace(/<@!?(\d+)>/g, (whole, id: string) => {
      const user = message.mentions.users.get(id);
      return user ? `@${user.globalName ?? user.username}` : whole;
    })
    .trim();
  return text || undefined;
}

function mentionsBot(message: Message, botId: string): boolean {
  if (new RegExp(`<@!?${botId}>`).test(message.content)) return true;
  // a reply pings its author by default, which lists them in `mentions`: that alone is repliedToBot
  if (message.mentions.users.has(botId) && message.mentions.repliedUser?.id !== botId) return true;
  // "@June" from the mention picker may be the bot's managed role rather than the bot user
  return message.mentions.roles.some((role) => role.tags?.botId === botId);
}

/** The InboundMessage for a Discord message, or undefined for messages June never answers. */
export function toInboundMessage(message: Message, botId: string): InboundMessage | undefined {
  // its own messages come back over the gateway; other bots and webhooks could loop with June
  if (message.author.id === botId || message.author.bot || message.webhookId || message.system)
    return undefined;
  const voiceMessage = message.flags.has(IS_VOICE_MESSAGE);
  const inGuild = message.inGuild();
  const text = cleanText(message, botId);
  return {
    channel: DISCORD_CHANNEL,
    chatId: message.channelId,
    userId: message.author.id,
    userName: message.author.globalName ?? message.author.username,
    messageId: message.id,
    ...(message.reference?.messageId ? { replyToMessageId: message.reference.messageId } : {}),
    chatType: inGuild ? 'group' : 'private',
    mentioned: inGuild && mentionsBot(message, botId),
    repliedToBot: message.mentions.repliedUser?.id === botId,
    ...(text ? { text } : {}),
    attachments: [...message.attachments.values()].map((a) => toInboundAttachment(a, voiceMessage)),
    receivedAt: Date.now(),
  };
}

/** Message ids of slash commands: interactions have no message, and their replies go back through them. */
export const INTERACTION_PREFIX = 'interaction-';

/**
 * A slash command as the message a user would have typed ("/voice always"), so the gateway applies the
 * same access rules and runs the same command code as for typed commands. A slash command is always
 * addressed to the bot.
 */
export function interactionToInbound(interaction: ChatInputCommandInteraction): InboundMessage {
  const args = interaction.options.data.map((o) => String(o.value ?? '')).filter(Boolean);
  return {
    channel: DISCORD_CHANNEL,
    chatId: interaction.channelId,
    userId: interaction.user.id,
    userName: interaction.user.globalName ?? interaction.user.username,
    messageId: `${INTERACTION_PREFIX}${interaction.id}`,
    chatType: interaction.inGuild() ? 'group' : 'private',
    mentioned: true,
    repliedToBot: false,
    text: [`/${interaction.commandName}`, ...args].join(' '),
    attachments: [],
    receivedAt: Date.now(),
  };
}

/**
 * A pressed button under one of June's messages (a plan's "Run the plan") as the command it stands for
 * ("/go 123"), from the user who pressed it; answered through the interaction like a slash command.
 */
export function buttonToInbound(interaction: ButtonInteraction): InboundMessage {
  return {
    channel: DISCORD_CHANNEL,
    chatId: interaction.channelId,
    userId: interaction.user.id,
    userName: interaction.user.globalName ?? interaction.user.username,
    messageId: `${INTERACTION_PREFIX}${interaction.id}`,
    chatType: interaction.inGuild() ? 'group' : 'private',
    mentioned: true,
    repliedToBot: true,
    text: buttonCommand(interaction.customId),
    attachments: [],
    receivedAt: Date.now(),
  };
}
