/**
 * Everything June sends to Discord, over the REST API only (no gateway connection needed, so standalone
 * workers can answer too): text messages (and edits of a status message), voice messages, files, the
 * typing indicator, slash-command answers, and attachment downloads.
 *
 * Errors come out as the channel layer expects: RateLimitedError (with Discord's Retry-After) for 429s,
 * which the REST client is told to surface instead of sleeping on them itself, so the delivery layer does
 * the waiting with its own limits; ChannelError otherwise, retryable for 5xx and network failures. Error
 * messages never carry request URLs: interaction and webhook URLs contain secret tokens.
 */
import type * as discordJs from 'discord.js';
import type { REST, RawFile } from 'discord.js';
import type { Logger } from '../../observability/logger.js';
import { describeError } from '../../util/errors.js';
import { ChannelError, RateLimitedError } from '../errors.js';
import type { Choice, InboundAttachment, OutboundDocument, ReplyTarget, VoiceNote } from '../types.js';
import { DISCORD_CHANNEL, IS_VOICE_MESSAGE } from './inbound.js';
import { voiceMessageMeta, type VoiceMessageMeta } from './voice-waveform.js';

/** The discord.js module, imported lazily by the adapter. */
export type DiscordJs = typeof discordJs;

const EPHEMERAL = 1 << 6;
const CHANNEL_MESSAGE_WITH_SOURCE = 4;
/** Message components: an action row, a button, the primary (blurple) style. */
const ACTION_ROW = 1;
const BUTTON = 2;
const PRIMARY = 1;
/** Never ping anyone from model output ("@everyone" in a reply stays text); only the replied-to user. */
const ALLOWED_MENTIONS = { parse: [], replied_user: true };
const SNOWFLAKE = /^\d{15,21}$/;

/** A slash command waiting for its answer: the first goes in the interaction callback, more as follow-ups. */
export interface PendingInteraction {
  id: string;
  token: string;
  applicationId: string;
  ephemeral: boolean;
  replied: boolean;
}

export class DiscordSender {
  /** Slash commands being answered, by the messageId their InboundMessage got. */
  readonly interactions = new Map<string, PendingInteraction>();

  constructor(
    private readonly djs: DiscordJs,
    private readonly rest: REST,
    private readonly logger: Logger,
    private readonly maxDownloadBytes: number,
  ) {}

  async sendText(target: ReplyTarget, text: string): Promise<void> {
    const pending = target.replyToMessageId ? this.interactions.get(target.replyToMessageId) : undefined;
    if (pending) return this.answerInteraction(pending, text);
    await this.call('send a message', () =>
      this.rest.post(this.djs.Routes.channelMessages(target.chatId), {
        body: { content: text, allowed_mentions: ALLOWED_MENTIONS, ...reference(target) },
      }),
    );
  }

  /**
   * A Discord voice message: the OGG/Opus file as the only attachment, with its duration and waveform,
   * flagged IS_VOICE_MESSAGE. Voice messages cannot carry text, so a caption follows as its own message.
   * Audio in another format goes as a plain audio file.
   */
  async sendVoice(target: ReplyTarget, voice: VoiceNote, caption?: string): Promise<void> {
    const isOgg = /^audio\/(ogg|opus)/.test(voice.mimeType);
    if (isOgg) {
      const meta = await this.measure(voice);
      const filename = 'voice-message.ogg';
      await this.call('send a voice message', () =>
        this.rest.post(this.djs.Routes.channelMessages(target.chatId), {
          body: {
            flags: IS_VOICE_MESSAGE,
            attachments: [{ id: 0, filename, duration_secs: meta.durationSec, waveform: meta.waveform }],
            allowed_mentions: ALLOWED_MENTIONS,
            ...reference(target),
          },
          files: [{ name: filename, data: voice.data, contentType: 'audio/ogg' } satisfies RawFile],
        }),
      );
    } else {
      const ext = voice.mimeType.includes('mpeg') ? 'mp3' : voice.mimeType.includes('wav') ? 'wav' : 'bin';
      await this.call('send an audio file', () =>
        this.rest.post(this.djs.Routes.channelMessages(target.chatId), {
          body: { allowed_mentions: ALLOWED_MENTIONS, ...reference(target) },
          files: [{ name: `reply.${ext}`, data: voice.data, contentType: voice.mimeType }],
        }),
      );
    }
    if (caption?.trim()) await this.sendText(target, caption);
  }

  /** A file as the message's only attachment (files[0] in the multipart body), with an optional caption. */
  async sendDocument(target: ReplyTarget, doc: OutboundDocument, caption?: string): Promise<void> {
    await this.call('send a file', () =>
      this.rest.post(this.djs.Routes.channelMessages(target.chatId), {
        body: {
          ...(caption ? { content: caption } : {}),
          allowed_mentions: ALLOWED_MENTIONS,
          ...reference(target),
        },
        files: [{ name: doc.fileName, data: doc.data, contentType: doc.mimeType } satisfies RawFile],
      }),
    );
  }

  /**
   * A channel message whose id comes back, so that it can be edited (a coding run's status line). Always
   * a channel message, even for a slash command: an interaction's answer can only be edited for 15 minutes.
   */
  async sendEditableText(target: ReplyTarget, text: string): Promise<string> {
    const sent = (await this.call('send a message', () =>
      this.rest.post(this.djs.Routes.channelMessages(target.chatId), {
        body: { content: text, allowed_mentions: ALLOWED_MENTIONS, ...reference(target) },
      }),
    )) as { id?: unknown };
    if (typeof sent?.id !== 'string')
      throw new ChannelError(DISCORD_CHANNEL, 'Discord answered a sent message without its id', {
        retryable: false,
      });
    return sent.id;
  }

  /** A message with one row of buttons (message components); a press comes back as an interaction. */
  async sendChoice(target: ReplyTarget, text: string, choices: Choice[]): Promise<string> {
    const components = [
      {
        type: ACTION_ROW,
        components: choices.slice(0, 5).map((c) => ({
          type: BUTTON,
          style: PRIMARY,
          label: c.label.slice(0, 80),
          custom_id: c.data,
        })),
      },
    ];
    const sent = (await this.call('send a message', () =>
      this.rest.post(this.djs.Routes.channelMessages(target.chatId), {
        body: { content: text, allowed_mentions: ALLOWED_MENTIONS, components, ...reference(target) },
      }),
    )) as { id?: unknown };
    if (typeof sent?.id !== 'string')
      throw new ChannelError(DISCORD_CHANNEL, 'Discord answered a sent message without its id', {
        retryable: false,
      });
    return sent.id;
  }

  /** Edits a message June sent (PATCH /channels/{channel}/messages/{message}). */
  async editText(target: ReplyTarget, messageId: string, text: string): Promise<void> {
    await this.call('edit a message', () =>
      this.rest.patch(this.djs.Routes.channelMessage(target.chatId, messageId), {
        body: { content: text, allowed_mentions: ALLOWED_MENTIONS },
      }),
    );
  }

  async sendTyping(target: ReplyTarget): Promise<void> {
    // a slash command's answer is immediate; there is nothing to show as "typing"
    if (target.replyToMessageId && this.interactions.has(target.replyToMessageId)) return;
    await this.call('show typing', () => this.rest.post(this.djs.Routes.channelTyping(target.chatId)));
  }

  async answerInteraction(pending: PendingInteraction, text: string): Promise<void> {
    const data = {
      content: text,
      allowed_mentions: { parse: [] },
      ...(pending.ephemeral ? { flags: EPHEMERAL } : {}),
    };
    if (!pending.replied) {
      await this.call('answer a slash command', () =>
        this.rest.post(this.djs.Routes.interactionCallback(pending.id, pending.token), {
          body: { type: CHANNEL_MESSAGE_WITH_SOURCE, data },
          auth: false,
        }),
      );
      pending.replied = true;
    } else {
      await this.call('follow up a slash command', () =>
        this.rest.post(this.djs.Routes.webhook(pending.applicationId, pending.token), {
          body: data,
          auth: false,
        }),
      );
    }
  }

  /**
   * Fetches an attachment from Discord's CDN (no token: CDN URLs are signed). Signed URLs expire after
   * about a day, so a task retried later asks Discord for a fresh URL and tries once more.
   */
  async download(attachment: InboundAttachment, signal?: AbortSignal): Promise<Buffer> {
    const url = new URL(attachment.fileId);
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new ChannelError(DISCORD_CHANNEL, 'attachment URL is not http(s)', { retryable: false });
    let res = await this.fetchFile(url.href, signal);
    if (res.status === 403 || res.status === 404) {
      await res.body?.cancel();
      const fresh = await this.refreshUrl(url.href);
      if (fresh) res = await this.fetchFile(fresh, signal);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ChannelError(DISCORD_CHANNEL, `attachment download failed: HTTP ${res.status}`, {
        retryable: res.status >= 500 || res.status === 429,
        status: res.status,
      });
    }
    return this.readCapped(res);
  }

  private async fetchFile(url: string, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(url, { ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ChannelError(DISCORD_CHANNEL, `attachment download failed: ${describeError(err)}`, {
        retryable: true,
      });
    }
  }

  private async refreshUrl(url: string): Promise<string | undefined> {
    const out = (await this.call('refresh an attachment URL', () =>
      this.rest.post('/attachments/refresh-urls', { body: { attachment_urls: [url] } }),
    )) as { refreshed_urls?: { original: string; refreshed: string }[] };
    return out.refreshed_urls?.[0]?.refreshed;
  }

  private async readCapped(res: Response): Promise<Buffer> {
    const max = this.maxDownloadBytes;
    const tooLarge = () =>
      new ChannelError(DISCORD_CHANNEL, `attachment is larger than ${max} bytes`, { retryable: false });
    if (Number(res.headers.get('content-length') ?? 0) > max) {
      await res.body?.cancel();
      throw tooLarge();
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body ?? []) {
      total += chunk.length;
      if (total > max) throw tooLarge();
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks);
  }

  private async measure(voice: VoiceNote): Promise<VoiceMessageMeta> {
    try {
      return await voiceMessageMeta(voice.data);
    } catch (err) {
      // the voice message still goes out; Discord only draws flat bars
      this.logger.warn({ err: describeError(err) }, 'could not compute the voice message waveform');
      return {
        waveform: Buffer.alloc(Math.min(256, Math.ceil(voice.durationSec * 10)) || 1, 128).toString('base64'),
        durationSec: voice.durationSec,
      };
    }
  }

  /** Runs a REST call and turns discord.js's errors into the channel layer's. */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.translate(what, err);
    }
  }

  translate(what: string, err: unknown): Error {
    const { RateLimitError, DiscordAPIError, HTTPError } = this.djs;
    if (err instanceof RateLimitError)
      return new RateLimitedError(DISCORD_CHANNEL, Math.max(0, err.retryAfter));
    if (err instanceof DiscordAPIError) {
      const retryable = err.status >= 500 || err.status === 408;
      return new ChannelError(
        DISCORD_CHANNEL,
        `could not ${what}: ${err.status} ${err.message} (code ${err.code})`,
        {
          retryable,
          status: err.status,
        },
      );
    }
    if (err instanceof HTTPError)
      return new ChannelError(DISCORD_CHANNEL, `could not ${what}: HTTP ${err.status}`, {
        retryable: true,
        status: err.status,
      });
    if (err instanceof Error && err.name === 'AbortError') return err;
    return new ChannelError(DISCORD_CHANNEL, `could not ${what}: ${describeError(err)}`, { retryable: true });
  }
}

function reference(target: ReplyTarget): {
  message_reference?: { message_id: string; fail_if_not_exists: false };
} {
  const id = target.replyToMessageId;
  // replies to a message that was deleted meanwhile still go out, just without the reference
  return id && SNOWFLAKE.test(id) ? { message_reference: { message_id: id, fail_if_not_exists: false } } : {};
}
