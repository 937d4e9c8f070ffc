/**
 * The channel layer's shapes. Every platform (Telegram, Discord, the web page) turns what it receives into
 * one InboundMessage and implements ChannelAdapter for what goes back out; everything between (access,
 * rate limits, commands, the durable task, the conversation, delivery) is shared.
 */
import type { ParkInbound } from './inbound-task.js';

export type AttachmentKind = 'voice' | 'audio' | 'video_note' | 'document' | 'image' | 'video' | 'other';

export interface InboundAttachment {
  kind: AttachmentKind;
  /** Platform reference used to download it later (Telegram file_id, Discord CDN URL, web upload id). */
  fileId: string;
  mimeType?: string;
  sizeBytes?: number;
  durationSec?: number;
  fileName?: string;
}

export interface InboundMessage {
  channel: string;
  chatId: string;
  userId: string;
  userName?: string;
  /** Platform message id: the deduplication key together with channel and chat. */
  messageId: string;
  replyToMessageId?: string;
  chatType: 'private' | 'group';
  /** The bot was @mentioned (groups). */
  mentioned: boolean;
  /** The message replies to one of the bot's messages (groups). */
  repliedToBot: boolean;
  text?: string;
  attachments: InboundAttachment[];
  receivedAt: number;
  /** The sender asked for (true) or against (false) a spoken reply, overriding the conversation's voice mode. */
  speak?: boolean;
}

/** Where a reply goes. */
export interface ReplyTarget {
  channel: string;
  chatId: string;
  userId: string;
  replyToMessageId?: string;
}

export interface VoiceNote {
  data: Buffer;
  mimeType: string;
  durationSec: number;
}

/** A file sent as an attachment (a coding run's diff). */
export interface OutboundDocument {
  data: Buffer;
  fileName: string;
  mimeType: string;
}

export type Activity = 'typing' | 'record_voice';

export interface ChannelLimits {
  /** Longest text message the platform accepts. */
  maxTextLength: number;
  /** Longest caption on a voice message (0: captions not used). */
  maxCaptionLength: number;
  /** Largest attachment the bot may download. */
  maxDownloadBytes: number;
}

/**
 * What a platform implements. Sending methods throw RateLimitedError (with retryAfterMs) on 429 so the
 * delivery layer can wait and retry; other errors carry `retryable`.
 */
export interface ChannelAdapter {
  readonly name: string;
  readonly limits: ChannelLimits;
  /** The channel authenticates its users itself (the web API's bearer tokens), so the gateway skips pairing. */
  readonly authenticatesUsers?: boolean;
  /**
   * Starts receiving; every received message goes to `onMessage`, which resolves once it is durable. A
   * platform that redelivers hands an update that keeps failing to `park` (see inbound-task.ts).
   */
  start(onMessage: (msg: InboundMessage) => Promise<void>, park?: ParkInbound): Promise<void>;
  /** Reads a parked update (`ParkedInbound.raw`) back into a message; undefined for one June ignores. */
  readInbound?(raw: unknown): InboundMessage | undefined;
  stop(): Promise<void>;
  download(attachment: InboundAttachment, signal?: AbortSignal): Promise<Buffer>;
  sendText(target: ReplyTarget, text: string): Promise<void>;
  sendVoice(target: ReplyTarget, voice: VoiceNote, caption?: string): Promise<void>;
  sendActivity(target: ReplyTarget, activity: Activity): Promise<void>;
  /** Sends a file (Telegram sendDocument, a Discord file); a channel without it gets the text only. */
  sendDocument?(target: ReplyTarget, doc: OutboundDocument, caption?: string): Promise<void>;
  /**
   * Sends a text message that can be edited later (a coding run's status line) and answers its platform
   * message id. Present together with `editText`; a channel without them gets no status message.
   */
  sendEditableText?(target: ReplyTarget, text: string): Promise<string>;
  /** Replaces the text of a message sent by `sendEditableText` (Telegram editMessageText, Discord edit). */
  editText?(target: ReplyTarget, messageId: string, text: string): Promise<void>;
  /**
   * Sends a text with buttons (Telegram inline keyboard, Discord message components) and answers its
   * platform message id. Pressing a button comes back as a message whose text is `/<data with ':' as ' '>`
   * from the user who pressed it (see BUTTON_MESSAGE_PREFIX); a channel without it gets plain text.
   */
  sendChoice?(target: ReplyTarget, text: string, choices: Choice[]): Promise<string>;
}

/** A button under a message: its label and the data it sends back (at most 64 bytes). */
export interface Choice {
  label: string;
  data: string;
}

/** Message ids of button presses (Telegram callback queries, Discord component interactions). */
export const BUTTON_MESSAGE_PREFIX = 'button-';

/** The command a pressed button stands for: data "go:123" → "/go 123". */
export function buttonCommand(data: string): string {
  const [name, ...rest] = data.split(':');
  return [`/${name}`, ...rest].join(' ').trim();
}
