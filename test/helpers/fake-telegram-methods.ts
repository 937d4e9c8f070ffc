/**
 * The Bot API methods of the fake Telegram server, with the checks and error texts of the real one
 * (https://core.telegram.org/bots/api): empty or too long text, too long caption, unknown chat action,
 * invalid file_id, files over the download limit, malformed commands.
 */
import type { ServerResponse } from 'node:http';
import type { FakeState } from './fake-telegram-server.js';
import type { MultipartFile } from './fake-telegram-request.js';

const CHAT_ACTIONS = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);

export function routeMethod(
  state: FakeState,
  method: string,
  params: Record<string, unknown>,
  files: Record<string, MultipartFile>,
  res: ServerResponse,
): void {
  const chatId = params.chat_id === undefined ? undefined : String(params.chat_id);
  const sentMessage = (extra: Record<string, unknown>) => ({
    message_id: state.nextMessageId(),
    date: Math.floor(Date.now() / 1000),
    chat: { id: Number(chatId), type: Number(chatId) > 0 ? 'private' : 'supergroup' },
    from: state.bot,
    ...extra,
  });
  switch (method) {
    case 'getMe':
      return apiOk(res, {
        ...state.bot,
        can_join_groups: true,
        can_read_all_group_messages: false,
        supports_inline_queries: false,
      });
    case 'getUpdates':
      return state.getUpdates(params, res);
    case 'setWebhook': {
      const url = typeof params.url === 'string' ? params.url : '';
      if (url && !/^https?:\/\//.test(url))
        return apiError(res, 400, 'Bad Request: bad webhook: invalid URL');
      const secret = typeof params.secret_token === 'string' ? params.secret_token : undefined;
      if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret))
        return apiError(res, 400, 'Bad Request: secret token contains unallowed characters');
      state.setWebhook(url || undefined, secret, isTrue(params.drop_pending_updates), params.allowed_updates);
      return apiOk(res, true);
    }
    case 'deleteWebhook':
      state.setWebhook(undefined, undefined, isTrue(params.drop_pending_updates));
      return apiOk(res, true);
    case 'getWebhookInfo':
      return apiOk(res, {
        url: state.webhook?.url ?? '',
        has_custom_certificate: false,
        pending_update_count: 0,
      });
    case 'setMyCommands': {
      const commands = params.commands;
      if (!Array.isArray(commands))
        return apiError(res, 400, 'Bad Request: parameter "commands" is required');
      for (const c of commands as Array<{ command?: unknown; description?: unknown }>) {
        if (typeof c.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(c.command))
          return apiError(res, 400, 'Bad Request: BOT_COMMAND_INVALID');
        if (typeof c.description !== 'string' || c.description.length < 1 || c.description.length > 256)
          return apiError(res, 400, 'Bad Request: BOT_COMMAND_DESCRIPTION_INVALID');
      }
      state.commands = commands;
      return apiOk(res, true);
    }
    case 'getMyCommands':
      return apiOk(res, state.commands);
    case 'sendChatAction':
      if (!chatId) return apiError(res, 400, 'Bad Request: chat_id is empty');
      if (!CHAT_ACTIONS.has(String(params.action)))
        return apiError(res, 400, 'Bad Request: wrong parameter action in request');
      return apiOk(res, true);
    case 'sendMessage': {
      if (!chatId) return apiError(res, 400, 'Bad Request: chat_id is empty');
      const text = typeof params.text === 'string' ? params.text : '';
      if (!text.trim()) return apiError(res, 400, 'Bad Request: message text is empty');
      if (text.length > 4096) return apiError(res, 400, 'Bad Request: message is too long');
      const markup = params.reply_markup as { inline_keyboard?: unknown } | undefined;
      if (markup !== undefined && !validKeyboard(markup.inline_keyboard))
        return apiError(res, 400, "Bad Request: can't parse inline keyboard button");
      const message = sentMessage({ text, ...(markup ? { reply_markup: markup } : {}) });
      state.texts.set(message.message_id, {
        chatId: chatId,
        text,
        ...(markup ? { replyMarkup: markup } : {}),
      });
      return apiOk(res, message);
    }
    case 'answerCallbackQuery': {
      const id = typeof params.callback_query_id === 'string' ? params.callback_query_id : '';
      if (!state.callbackQueries.has(id) || state.callbackQueries.get(id) === 'answered')
        return apiError(
          res,
          400,
          'Bad Request: query is too old and response timeout expired or query ID is invalid',
        );
      state.callbackQueries.set(id, 'answered');
      return apiOk(res, true);
    }
    case 'editMessageText': {
      if (!chatId) return apiError(res, 400, 'Bad Request: chat_id is empty');
      const id = Number(params.message_id);
      const text = typeof params.text === 'string' ? params.text : '';
      if (!text.trim()) return apiError(res, 400, 'Bad Request: message text is empty');
      if (text.length > 4096) return apiError(res, 400, 'Bad Request: MESSAGE_TOO_LONG');
      const stored = state.texts.get(id);
      if (!stored || stored.chatId !== chatId)
        return apiError(res, 400, 'Bad Request: message to edit not found');
      if (stored.text === text)
        return apiError(
          res,
          400,
          'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
        );
      stored.text = text;
      return apiOk(res, {
        message_id: id,
        date: Math.floor(Date.now() / 1000),
        edit_date: Math.floor(Date.now() / 1000),
        chat: { id: Number(chatId), type: Number(chatId) > 0 ? 'private' : 'supergroup' },
        from: state.bot,
        text,
      });
    }
    case 'sendVoice': {
      if (!chatId) return apiError(res, 400, 'Bad Request: chat_id is empty');
      const upload = files.voice;
      const existing = typeof params.voice === 'string' ? state.files.get(params.voice) : undefined;
      if (!upload && !existing) return apiError(res, 400, 'Bad Request: there is no voice in the request');
      const caption = typeof params.caption === 'string' ? params.caption : undefined;
      if (caption !== undefined && caption.length > 1024)
        return apiError(res, 400, 'Bad Request: message caption is too long');
      const stored = existing ?? state.addFile(upload!.data, 'oga');
      return apiOk(
        res,
        sentMessage({
          voice: {
            file_id: stored.fileId,
            file_unique_id: stored.uniqueId,
            duration: Number(params.duration ?? 0),
            mime_type: 'audio/ogg',
            file_size: stored.data.length,
          },
          ...(caption ? { caption } : {}),
        }),
      );
    }
    case 'sendDocument': {
      if (!chatId) return apiError(res, 400, 'Bad Request: chat_id is empty');
      const upload = files.document;
      if (!upload) return apiError(res, 400, 'Bad Request: there is no document in the request');
      const caption = typeof params.caption === 'string' ? params.caption : undefined;
      if (caption !== undefined && caption.length > 1024)
        return apiError(res, 400, 'Bad Request: message caption is too long');
      const stored = state.addFile(upload.data, 'txt');
      return apiOk(
        res,
        sentMessage({
          document: {
            file_id: stored.fileId,
            file_unique_id: stored.uniqueId,
            file_name: upload.filename ?? 'document',
            mime_type: upload.contentType ?? 'application/octet-stream',
            file_size: stored.data.length,
          },
          ...(caption ? { caption } : {}),
        }),
      );
    }
    case 'getFile': {
      const file = typeof params.file_id === 'string' ? state.files.get(params.file_id) : undefined;
      if (!file) return apiError(res, 400, 'Bad Request: invalid file_id');
      if (file.data.length > state.downloadLimitBytes())
        return apiError(res, 400, 'Bad Request: file is too big');
      return apiOk(res, {
        file_id: file.fileId,
        file_unique_id: file.uniqueId,
        file_size: file.data.length,
        file_path: file.path,
      });
    }
    default:
      return apiError(res, 404, 'Not Found');
  }
}

/** An inline keyboard as Telegram checks it: rows of buttons with text and 1-64 bytes of callback_data. */
function validKeyboard(rows: unknown): boolean {
  if (!Array.isArray(rows)) return false;
  return rows.every(
    (row) =>
      Array.isArray(row) &&
      row.every((b: { text?: unknown; callback_data?: unknown }) => {
        if (typeof b?.text !== 'string' || !b.text) return false;
        const data = b.callback_data;
        return typeof data === 'string' && Buffer.byteLength(data) >= 1 && Buffer.byteLength(data) <= 64;
      }),
  );
}

function isTrue(v: unknown): boolean {
  return v === true || v === 'true' || v === '1';
}

export function apiOk(res: ServerResponse, result: unknown): void {
  send(res, 200, { ok: true, result });
}

export function apiError(
  res: ServerResponse,
  status: number,
  description: string,
  parameters?: Record<string, unknown>,
): void {
  send(res, status, { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
