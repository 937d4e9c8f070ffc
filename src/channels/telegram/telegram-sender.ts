/**
 * Everything June sends to Telegram through the Bot API (grammY's Api client, loaded on first use): text
 * (and edits of a status message), voice notes, documents, the typing / recording indicator, and file
 * downloads. Needs no getUpdates or webhook, so
 * send-only workers and `june pairing approve` use it without starting the adapter.
 *
 * Every call maps its failure to RateLimitedError (with Telegram's retry_after) or ChannelError, with the
 * bot token redacted: the token is part of every Bot API and file URL.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Api, InputFile } from 'grammy';
import { AudioError } from '../../util/errors.js';
import { ChannelError } from '../errors.js';
import type {
  Activity,
  Choice,
  InboundAttachment,
  OutboundDocument,
  ReplyTarget,
  VoiceNote,
} from '../types.js';
import { downloadFile } from './telegram-download.js';
import { toChannelError } from './telegram-errors.js';
import { TELEGRAM } from './telegram-message.js';

const DOWNLOAD_FAILED = "I couldn't fetch your message from Telegram. Please send it again.";
const TOO_BIG = (limitMb: number) =>
  `That file is too large for me to download from Telegram (the limit is ${limitMb} MB). Please send a shorter recording.`;

interface Grammy {
  Api: typeof Api;
  InputFile: typeof InputFile;
}

export class TelegramSender {
  private readonly apiRoot: string;
  private grammy: Promise<{ api: Api; lib: Grammy }> | undefined;

  constructor(
    private readonly token: string,
    apiRoot: string,
    private readonly maxDownloadBytes: number,
  ) {
    // grammY refuses a trailing slash on the API root
    this.apiRoot = apiRoot.replace(/\/+$/, '');
  }

  async sendText(target: ReplyTarget, text: string): Promise<void> {
    await this.call('sendMessage', (api) =>
      api.sendMessage(target.chatId, text, {
        ...replyTo(target),
        link_preview_options: { is_disabled: true },
      }),
    );
  }

  /** A text message whose id comes back, so that it can be edited (a coding run's status line). */
  async sendEditableText(target: ReplyTarget, text: string): Promise<string> {
    const sent = await this.call('sendMessage', (api) =>
      api.sendMessage(target.chatId, text, {
        ...replyTo(target),
        link_preview_options: { is_disabled: true },
      }),
    );
    return String(sent.message_id);
  }

  /** sendMessage with an inline keyboard: one row, a button per choice (callback_data = its data). */
  async sendChoice(target: ReplyTarget, text: string, choices: Choice[]): Promise<string> {
    const sent = await this.call('sendMessage', (api) =>
      api.sendMessage(target.chatId, text, {
        ...replyTo(target),
        link_preview_options: { is_disabled: true },
        reply_markup: {
          inline_keyboard: [choices.map((c) => ({ text: c.label, callback_data: c.data }))],
        },
      }),
    );
    return String(sent.message_id);
  }

  /** answerCallbackQuery: stops the button's spinner, with a short notice shown to the presser. */
  async answerButton(callbackQueryId: string, text?: string): Promise<void> {
    await this.call('answerCallbackQuery', (api) =>
      api.answerCallbackQuery(callbackQueryId, text ? { text: text.slice(0, 200) } : {}),
    );
  }

  /**
   * editMessageText. Telegram refuses an edit that changes nothing ("message is not modified"); that is
   * the state asked for, so it counts as done (a retried task may repeat its last edit).
   */
  async editText(target: ReplyTarget, messageId: string, text: string): Promise<void> {
    try {
      await this.call('editMessageText', (api) =>
        api.editMessageText(target.chatId, Number(messageId), text, {
          link_preview_options: { is_disabled: true },
        }),
      );
    } catch (err) {
      if (err instanceof ChannelError && /message is not modified/i.test(err.message)) return;
      throw err;
    }
  }

  async sendVoice(target: ReplyTarget, voice: VoiceNote, caption?: string): Promise<void> {
    const { lib } = await this.client();
    await this.call('sendVoice', (api) =>
      api.sendVoice(target.chatId, new lib.InputFile(voice.data, 'reply.ogg'), {
        // Telegram wants whole seconds; a sub-second reply still shows as 0:01
        duration: Math.max(1, Math.round(voice.durationSec)),
        ...(caption ? { caption } : {}),
        ...replyTo(target),
      }),
    );
  }

  async sendDocument(target: ReplyTarget, doc: OutboundDocument, caption?: string): Promise<void> {
    const { lib } = await this.client();
    await this.call('sendDocument', (api) =>
      api.sendDocument(target.chatId, new lib.InputFile(doc.data, doc.fileName), {
        ...(caption ? { caption } : {}),
        ...replyTo(target),
      }),
    );
  }

  async sendActivity(target: ReplyTarget, activity: Activity): Promise<void> {
    await this.call('sendChatAction', (api) => api.sendChatAction(target.chatId, activity));
  }

  async download(attachment: InboundAttachment, signal?: AbortSignal): Promise<Buffer> {
    const max = this.maxDownloadBytes;
    const tooBig = (size: number) =>
      new AudioError(
        'audio_too_large',
        `telegram: file of ${size} bytes is over the download limit of ${max}`,
        TOO_BIG(Math.round(max / 1024 / 1024)),
      );
    if (attachment.sizeBytes !== undefined && attachment.sizeBytes > max) throw tooBig(attachment.sizeBytes);
    let file;
    try {
      file = await this.call(
        'getFile',
        (api) => api.getFile(attachment.fileId, grammySignal(signal)),
        DOWNLOAD_FAILED,
      );
    } catch (err) {
      if (err instanceof ChannelError && /file is too big/i.test(err.message))
        throw tooBig(attachment.sizeBytes ?? max + 1);
      throw err;
    }
    if (file.file_size !== undefined && file.file_size > max) throw tooBig(file.file_size);
    if (!file.file_path)
      throw new ChannelError(TELEGRAM, 'getFile returned no file_path', {
        retryable: true,
        userMessage: DOWNLOAD_FAILED,
      });
    // a self-hosted Bot API server in --local mode hands out absolute paths on its own disk
    if (path.isAbsolute(file.file_path)) {
      const local = await fs.readFile(file.file_path).catch(() => undefined);
      if (local) {
        if (local.length > max) throw tooBig(local.length);
        return local;
      }
    }
    const url = `${this.apiRoot}/file/bot${this.token}/${file.file_path.replace(/^\/+/, '')}`;
    return downloadFile(url, {
      maxBytes: max,
      signal,
      token: this.token,
      userMessage: DOWNLOAD_FAILED,
      tooBig,
    });
  }

  private client(): Promise<{ api: Api; lib: Grammy }> {
    this.grammy ??= (async () => {
      const lib = await import('grammy');
      return { api: new lib.Api(this.token, { apiRoot: this.apiRoot }), lib };
    })();
    return this.grammy;
  }

  /** One Bot API call with its failure mapped to RateLimitedError / ChannelError (token redacted). */
  async call<T>(action: string, fn: (api: Api) => Promise<T>, userMessage?: string): Promise<T> {
    const { api } = await this.client();
    try {
      return await fn(api);
    } catch (err) {
      throw toChannelError(err, { action, token: this.token, ...(userMessage ? { userMessage } : {}) });
    }
  }
}

/** grammY's Node typings name the abort-controller package's signal; it listens to a native one fine. */
export function grammySignal(signal: AbortSignal | undefined): Parameters<Api['getMe']>[0] {
  return signal as Parameters<Api['getMe']>[0];
}

function replyTo(target: ReplyTarget): {
  reply_parameters?: { message_id: number; allow_sending_without_reply: true };
} {
  const id = Number(target.replyToMessageId);
  // the reply still goes out if the user deleted the message it answers
  return target.replyToMessageId && Number.isInteger(id)
    ? { reply_parameters: { message_id: id, allow_sending_without_reply: true } }
    : {};
}
