/**
 * A local Telegram Bot API server for tests and benchmarks: real HTTP on a random loopback port, the same
 * URLs, parameters and answers as api.telegram.org (GET query, JSON, urlencoded or multipart bodies;
 * `{ ok, result }` / `{ ok: false, error_code, description, parameters }`).
 *
 * - getUpdates long polls: an update stays until a getUpdates call with a higher offset confirms it; a
 *   second concurrent poll ends the first with 409, as on Telegram; 409 too while a webhook is set.
 * - setWebhook switches to push: updates are POSTed to the URL with the secret header, and retried until
 *   the bot answers 2xx (Telegram does the same).
 * - getFile + /file/bot<token>/<path>; files over `downloadLimitBytes` are refused like the 20 MB limit.
 * - sendMessage, editMessageText (of a text the bot sent; "message is not modified" when nothing changes),
 *   sendVoice, sendDocument (multipart, attach:// references), sendChatAction, setMyCommands are recorded
 *   with their parameters and uploaded bytes; limits (4096 text, 1024 caption) are enforced.
 * - allowed_updates (getUpdates, setWebhook) is kept until changed, as on Telegram: updates of other
 *   types are not delivered but dropped (the default lets every type through).
 * - Inline keyboards (reply_markup on sendMessage, callback_data 1-64 bytes) are kept with the message;
 *   `pressButton` sends the callback_query update a client sends when a user presses one, and
 *   answerCallbackQuery accepts each query id once, as Telegram does.
 * - `failNext(method, n, …)` scripts 429 (retry_after) or other errors; a wrong token gets 401.
 */
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readParams, type MultipartFile } from './fake-telegram-request.js';
import { apiError, apiOk, routeMethod } from './fake-telegram-methods.js';
import {
  oggDurationSec,
  type TgChat,
  type TgMessage,
  type TgUpdate,
  type TgUser,
} from './fake-telegram-updates.js';

export * from './fake-telegram-updates.js';

export interface RecordedCall {
  method: string;
  /** Parameters from the query and body; JSON-looking strings (objects, arrays) are parsed. */
  params: Record<string, unknown>;
  /** Uploaded files by the parameter they were given for (attach:// resolved). */
  files: Record<string, MultipartFile>;
  at: number;
  /** HTTP status of the answer; 0 while it is still pending (a long poll). */
  status: number;
}

export interface ScriptedFailure {
  /** Default 429 when retryAfter is set, else 500. */
  status?: number;
  /** Seconds, as Telegram sends it in parameters.retry_after. */
  retryAfter?: number;
  description?: string;
}

export interface StoredFile {
  fileId: string;
  uniqueId: string;
  path: string;
  data: Buffer;
}

export interface FakeTelegramServer {
  /** The apiRoot for clients: http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  token: string;
  bot: TgUser;
  /** Every API call received, failed ones included. */
  calls(method?: string): RecordedCall[];
  /** Successful outgoing calls (send*), oldest first. */
  sent(method?: string): RecordedCall[];
  /** Queues an update (update_id filled in); delivered by getUpdates or to the webhook. */
  pushUpdate(update: Record<string, unknown>): number;
  /** Queues a message update; message_id and date are filled in. */
  pushMessage(message: Record<string, unknown> & { from: TgUser; chat: TgChat }): {
    updateId: number;
    messageId: number;
  };
  /**
   * A user presses the button with this callback_data under the bot's message `messageId`: pushes the
   * callback_query update (the message as the bot sent it, with its keyboard). Answers the query id.
   */
  pressButton(from: TgUser, messageId: number, data: string): string;
  /** The bot's text messages as they stand now (edits applied), with their keyboards, oldest first. */
  botTexts(chatId?: number): { messageId: number; chatId: string; text: string; replyMarkup?: unknown }[];
  /** Whether answerCallbackQuery was called for this query id. */
  buttonAnswered(queryId: string): boolean;
  /** Stores the OGG/Opus bytes as a file and pushes a voice message with them. */
  sendVoiceNote(
    from: TgUser,
    chat: TgChat,
    ogg: Buffer,
    extra?: Record<string, unknown>,
  ): { updateId: number; messageId: number; fileId: string };
  addFile(data: Buffer, ext?: string): StoredFile;
  /** update_ids handed out by getUpdates or the webhook, in order (repeats show redelivery). */
  delivered(): number[];
  /** Updates not yet confirmed. */
  pendingUpdates(): TgUpdate[];
  /** Puts a confirmed update back, as Telegram does when the confirming offset never arrived. */
  redeliver(updateId: number): void;
  /** The next `times` calls of `method` fail this way. */
  failNext(method: string, times: number, failure: ScriptedFailure): void;
  waitFor<T>(probe: () => T | undefined | false | null, what?: string, timeoutMs?: number): Promise<T>;
  webhook(): { url: string; secretToken?: string } | undefined;
  /** Largest file getFile hands out (20 MB, like the public server). */
  downloadLimitBytes: number;
  /** Forgets calls, updates, files and scripted failures (the bot and token stay). */
  reset(): void;
  close(): Promise<void>;
}

export interface FakeTelegramOptions {
  token?: string;
  botId?: number;
  botUsername?: string;
  /** Delay between webhook delivery attempts after a failure. Default 100 ms. */
  webhookRetryMs?: number;
}

interface Poller {
  res: ServerResponse;
  offset: number;
  limit: number;
  timer: NodeJS.Timeout;
}

/** Server state shared with the method handlers in fake-telegram-methods.ts. */
export interface FakeState {
  bot: TgUser;
  files: Map<string, StoredFile>;
  filesByPath: Map<string, StoredFile>;
  nextMessageId: () => number;
  /** Text messages the bot sent, by message_id (editMessageText edits them). */
  texts: Map<number, { chatId: string; text: string; replyMarkup?: unknown }>;
  /** callback_query ids sent to the bot: 'pending' until answerCallbackQuery, then 'answered'. */
  callbackQueries: Map<string, 'pending' | 'answered'>;
  commands: unknown[];
  webhook: { url: string; secretToken?: string } | undefined;
  downloadLimitBytes: () => number;
  addFile(data: Buffer, ext?: string): StoredFile;
  getUpdates(params: Record<string, unknown>, res: ServerResponse): void;
  setWebhook(
    url: string | undefined,
    secretToken?: string,
    dropPending?: boolean,
    allowedUpdates?: unknown,
  ): void;
}

export async function startFakeTelegramServer(
  options: FakeTelegramOptions = {},
): Promise<FakeTelegramServer> {
  const token = options.token ?? '123:abc';
  const bot: TgUser = {
    id: options.botId ?? (Number(token.split(':')[0]) || 123),
    is_bot: true,
    first_name: 'June',
    username: options.botUsername ?? 'JuneTestBot',
  };
  let calls: RecordedCall[] = [];
  let updates: TgUpdate[] = [];
  let confirmed = new Map<number, TgUpdate>();
  let delivered: number[] = [];
  let failures = new Map<string, Array<ScriptedFailure>>();
  let nextUpdateId = 500_000;
  let messageId = 1000;
  let pollers: Poller[] = [];
  let pushing = false;

  const state: FakeState = {
    bot,
    files: new Map(),
    filesByPath: new Map(),
    nextMessageId: () => ++messageId,
    texts: new Map(),
    callbackQueries: new Map(),
    commands: [],
    webhook: undefined,
    downloadLimitBytes: () => fake.downloadLimitBytes,
    addFile(data, ext = 'oga') {
      const fileId = `F${randomBytes(12).toString('base64url')}`;
      const file: StoredFile = {
        fileId,
        uniqueId: randomBytes(6).toString('hex'),
        path: `voice/file_${state.files.size}.${ext}`,
        data,
      };
      state.files.set(fileId, file);
      state.filesByPath.set(file.path, file);
      return file;
    },
    getUpdates(params, res) {
      if (state.webhook)
        return apiError(
          res,
          409,
          "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        );
      const offset = Number(params.offset ?? 0);
      allow(params.allowed_updates);
      confirmBelow(offset);
      // only one poll at a time per bot, like Telegram: the newer one wins
      for (const p of pollers.splice(0))
        answerPoller(
          p,
          409,
          'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
        );
      const limit = Math.min(100, Math.max(1, Number(params.limit ?? 100)));
      const timeoutS = Math.max(0, Number(params.timeout ?? 0));
      if (available(offset, limit).length > 0 || timeoutS === 0) return deliver(res, offset, limit);
      const poller: Poller = {
        res,
        offset,
        limit,
        timer: setTimeout(() => {
          pollers = pollers.filter((p) => p !== poller);
          deliver(res, offset, limit);
        }, timeoutS * 1000),
      };
      pollers.push(poller);
      res.once('close', () => {
        clearTimeout(poller.timer);
        pollers = pollers.filter((p) => p !== poller);
      });
    },
    setWebhook(url, secretToken, dropPending, allowedUpdates) {
      allow(allowedUpdates);
      state.webhook = url ? { url, ...(secretToken ? { secretToken } : {}) } : undefined;
      if (dropPending) updates = [];
      for (const p of pollers.splice(0)) deliver(p.res, p.offset, p.limit);
      void pushToWebhook();
    },
  };

  /** Update types the bot asked for (undefined: all); updates of other types are dropped, as Telegram does. */
  let allowedTypes: string[] | undefined;
  const allow = (list: unknown) => {
    if (!Array.isArray(list)) return;
    allowedTypes = list.length ? list.map(String) : undefined;
    if (allowedTypes) updates = updates.filter(isAllowed);
  };
  const isAllowed = (u: TgUpdate) =>
    !allowedTypes || Object.keys(u).some((k) => k !== 'update_id' && allowedTypes!.includes(k));

  const confirmBelow = (offset: number) => {
    if (offset <= 0) return;
    for (const u of updates.filter((u) => u.update_id < offset)) confirmed.set(u.update_id, u);
    updates = updates.filter((u) => u.update_id >= offset);
  };
  const available = (offset: number, limit: number) =>
    updates.filter((u) => u.update_id >= offset).slice(0, limit);
  const deliver = (res: ServerResponse, offset: number, limit: number) => {
    const batch = available(offset, limit);
    delivered.push(...batch.map((u) => u.update_id));
    apiOk(res, batch);
  };
  const answerPoller = (p: Poller, status: number, description: string) => {
    clearTimeout(p.timer);
    apiError(p.res, status, description);
  };

  /** Webhook mode: POST updates one at a time, oldest first, until each is answered 2xx. */
  const pushToWebhook = async () => {
    if (pushing) return;
    pushing = true;
    try {
      while (state.webhook && updates.length > 0) {
        const update = updates[0]!;
        const hook = state.webhook;
        delivered.push(update.update_id);
        const ok = await fetch(hook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(hook.secretToken ? { 'x-telegram-bot-api-secret-token': hook.secretToken } : {}),
          },
          body: JSON.stringify(update),
        })
          .then(async (r) => (await r.arrayBuffer(), r.ok))
          .catch(() => false);
        if (ok) {
          updates = updates.filter((u) => u !== update);
          confirmed.set(update.update_id, update);
        } else await new Promise((r) => setTimeout(r, options.webhookRetryMs ?? 100));
      }
    } finally {
      pushing = false;
    }
  };

  const onNewUpdate = () => {
    for (const p of [...pollers]) {
      if (available(p.offset, p.limit).length === 0) continue;
      clearTimeout(p.timer);
      pollers = pollers.filter((x) => x !== p);
      deliver(p.res, p.offset, p.limit);
    }
    void pushToWebhook();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file) {
      const stored = file[1] === token ? state.filesByPath.get(decodeURIComponent(file[2]!)) : undefined;
      if (!stored) return apiError(res, 404, 'Not Found');
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': stored.data.length,
      });
      res.end(stored.data);
      return;
    }
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!m) return apiError(res, 404, 'Not Found');
    if (m[1] !== token) return apiError(res, 401, 'Unauthorized');
    const method = m[2]!;
    const { params, files } = await readParams(req, url);
    // 0 until the answer has gone out, so a call is never seen as sent before it succeeded
    const call: RecordedCall = { method, params, files, at: Date.now(), status: 0 };
    calls.push(call);
    res.once('finish', () => (call.status = res.statusCode));
    const scripted = failures.get(method)?.shift();
    if (scripted) {
      const status = scripted.status ?? (scripted.retryAfter !== undefined ? 429 : 500);
      const description =
        scripted.description ??
        (status === 429
          ? `Too Many Requests: retry after ${scripted.retryAfter ?? 1}`
          : 'Internal Server Error');
      return apiError(
        res,
        status,
        description,
        scripted.retryAfter !== undefined ? { retry_after: scripted.retryAfter } : undefined,
      );
    }
    routeMethod(state, method, params, files, res);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) apiError(res, 500, `Internal Server Error: ${String(err)}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeTelegramServer = {
    url: `http://127.0.0.1:${port}`,
    token,
    bot,
    downloadLimitBytes: 20 * 1024 * 1024,
    calls: (method) => (method ? calls.filter((c) => c.method === method) : [...calls]),
    sent: (method) =>
      calls.filter((c) => c.status === 200 && (method ? c.method === method : c.method.startsWith('send'))),
    pushUpdate(update) {
      const u = { ...update, update_id: ++nextUpdateId } as TgUpdate;
      if (isAllowed(u)) updates.push(u);
      onNewUpdate();
      return u.update_id;
    },
    pushMessage(message) {
      const msg: TgMessage = {
        message_id: state.nextMessageId(),
        date: Math.floor(Date.now() / 1000),
        ...message,
      };
      return { updateId: fake.pushUpdate({ message: msg }), messageId: msg.message_id };
    },
    pressButton(from, messageId, data) {
      const stored = state.texts.get(messageId);
      if (!stored) throw new Error(`the bot sent no message ${messageId}`);
      const rows = (stored.replyMarkup as { inline_keyboard?: { callback_data?: string }[][] } | undefined)
        ?.inline_keyboard;
      if (!rows?.some((row) => row.some((b) => b.callback_data === data)))
        throw new Error(`message ${messageId} has no button with data ${data}`);
      const id = randomBytes(8).toString('hex');
      state.callbackQueries.set(id, 'pending');
      const chatId = Number(stored.chatId);
      fake.pushUpdate({
        callback_query: {
          id,
          from,
          chat_instance: `ci${stored.chatId}`,
          data,
          message: {
            message_id: messageId,
            date: Math.floor(Date.now() / 1000),
            chat: { id: chatId, type: chatId > 0 ? 'private' : 'supergroup' },
            from: bot,
            text: stored.text,
            reply_markup: stored.replyMarkup,
          },
        },
      });
      return id;
    },
    botTexts: (chatId) =>
      [...state.texts.entries()]
        .filter(([, t]) => chatId === undefined || t.chatId === String(chatId))
        .sort(([a], [b]) => a - b)
        .map(([messageId, t]) => ({ messageId, ...t })),
    buttonAnswered: (queryId) => state.callbackQueries.get(queryId) === 'answered',
    sendVoiceNote(from, chat, ogg, extra = {}) {
      const stored = state.addFile(ogg);
      const voice = {
        file_id: stored.fileId,
        file_unique_id: stored.uniqueId,
        duration: oggDurationSec(ogg),
        mime_type: 'audio/ogg',
        file_size: ogg.length,
      };
      return { ...fake.pushMessage({ from, chat, voice, ...extra }), fileId: stored.fileId };
    },
    addFile: (data, ext) => state.addFile(data, ext),
    delivered: () => [...delivered],
    pendingUpdates: () => [...updates],
    redeliver(updateId) {
      const u = confirmed.get(updateId);
      if (!u) throw new Error(`update ${updateId} was never confirmed`);
      confirmed.delete(updateId);
      updates = [...updates, u].sort((a, b) => a.update_id - b.update_id);
      onNewUpdate();
    },
    failNext(method, times, failure) {
      const list = failures.get(method) ?? [];
      for (let i = 0; i < times; i++) list.push(failure);
      failures.set(method, list);
    },
    async waitFor(probe, what = 'a condition on the fake Telegram server', timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = probe();
        if (v !== undefined && v !== false && v !== null) return v;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    webhook: () => state.webhook,
    reset() {
      calls = [];
      updates = [];
      confirmed = new Map();
      delivered = [];
      failures = new Map();
      allowedTypes = undefined;
      state.files.clear();
      state.filesByPath.clear();
      state.commands = [];
      state.texts.clear();
      state.callbackQueries.clear();
      state.webhook = undefined;
      fake.downloadLimitBytes = 20 * 1024 * 1024;
    },
    async close() {
      for (const p of pollers.splice(0)) clearTimeout(p.timer);
      state.webhook = undefined;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
