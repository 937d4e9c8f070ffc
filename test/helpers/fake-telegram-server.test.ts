/**
 * The fake Bot API server behaves like api.telegram.org where June depends on it: long polling with
 * offsets, conflicts, webhooks with retries, multipart uploads, files, limits, scripted 429s, 401s.
 * Driven with plain fetch (no Telegram library), so the protocol itself is what is checked.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  privateChat,
  startFakeTelegramServer,
  tgUser,
  type FakeTelegramServer,
} from './fake-telegram-server.js';
import { makeTempDir, silentVoiceNote } from './speech-fixtures.js';

let tg: FakeTelegramServer;
const ada = tgUser(42, 'Ada');

beforeAll(async () => {
  tg = await startFakeTelegramServer({ token: '99:TEST' });
});
afterEach(() => tg.reset());
afterAll(async () => {
  await tg?.close();
});

interface ApiAnswer {
  ok: boolean;
  result?: unknown;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number };
}

async function api(method: string, params: Record<string, unknown> = {}, token = tg.token) {
  const res = await fetch(`${tg.url}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return { status: res.status, body: (await res.json()) as ApiAnswer };
}

describe('fake Telegram Bot API server', () => {
  it('answers like Telegram to a wrong token, an unknown method and getMe', async () => {
    expect(await api('getMe', {}, '99:WRONG')).toEqual({
      status: 401,
      body: { ok: false, error_code: 401, description: 'Unauthorized' },
    });
    expect((await api('noSuchMethod')).status).toBe(404);
    const me = await fetch(`${tg.url}/bot${tg.token}/getMe`).then((r) => r.json() as Promise<ApiAnswer>);
    expect(me).toMatchObject({ ok: true, result: { id: 99, is_bot: true, username: 'JuneTestBot' } });
  });

  it('keeps inline keyboards, delivers button presses only when allowed, and answers each query once', async () => {
    const chat = privateChat(ada);
    const bad = await api('sendMessage', {
      chat_id: chat.id,
      text: 'Run?',
      reply_markup: { inline_keyboard: [[{ text: 'Run', callback_data: 'x'.repeat(65) }]] },
    });
    expect(bad).toMatchObject({
      status: 400,
      body: { description: "Bad Request: can't parse inline keyboard button" },
    });
    const sent = await api('sendMessage', {
      chat_id: chat.id,
      text: 'Run?',
      reply_markup: { inline_keyboard: [[{ text: 'Run', callback_data: 'go:1' }]] },
    });
    const messageId = (sent.body.result as { message_id: number }).message_id;
    expect(tg.botTexts(chat.id)).toEqual([
      {
        messageId,
        chatId: String(chat.id),
        text: 'Run?',
        replyMarkup: { inline_keyboard: [[{ text: 'Run', callback_data: 'go:1' }]] },
      },
    ]);
    expect(() => tg.pressButton(ada, messageId, 'go:2')).toThrow(/no button/);

    // a bot that asks for messages only never gets the press
    await api('getUpdates', { timeout: 0, allowed_updates: ['message'] });
    tg.pressButton(ada, messageId, 'go:1');
    expect(tg.pendingUpdates()).toEqual([]);

    await api('getUpdates', { timeout: 0, allowed_updates: ['message', 'callback_query'] });
    const queryId = tg.pressButton(ada, messageId, 'go:1');
    const got = await api('getUpdates', { timeout: 0 });
    const update = (got.body.result as { callback_query: Record<string, unknown> }[])[0]!;
    expect(update.callback_query).toMatchObject({
      id: queryId,
      from: { id: ada.id },
      data: 'go:1',
      message: { message_id: messageId, text: 'Run?', chat: { id: chat.id } },
    });
    expect(tg.buttonAnswered(queryId)).toBe(false);
    expect((await api('answerCallbackQuery', { callback_query_id: queryId })).status).toBe(200);
    expect(tg.buttonAnswered(queryId)).toBe(true);
    expect(await api('answerCallbackQuery', { callback_query_id: queryId })).toMatchObject({
      status: 400,
      body: {
        description: 'Bad Request: query is too old and response timeout expired or query ID is invalid',
      },
    });
  });

  it('long-polls getUpdates, confirms by offset, and ends an older concurrent poll with 409', async () => {
    const waiting = api('getUpdates', { timeout: 10 });
    await tg.waitFor(() => tg.calls('getUpdates').length === 1);
    const { updateId } = tg.pushMessage({ from: ada, chat: privateChat(ada), text: 'hi' });
    const first = await waiting;
    expect(first.body.result).toMatchObject([{ update_id: updateId, message: { text: 'hi' } }]);
    // not confirmed yet: the same update comes again
    expect((await api('getUpdates', { timeout: 0 })).body.result).toHaveLength(1);
    // offset = id + 1 confirms it; nothing is left, and an empty poll ends after its timeout
    const after = await api('getUpdates', { offset: updateId + 1, timeout: 1 });
    expect(after.body.result).toEqual([]);
    expect(tg.pendingUpdates()).toEqual([]);

    const older = api('getUpdates', { offset: updateId + 1, timeout: 10 });
    await tg.waitFor(() => tg.calls('getUpdates').length === 4);
    const newer = api('getUpdates', { offset: updateId + 1, timeout: 1 });
    expect((await older).body).toMatchObject({
      ok: false,
      error_code: 409,
      description: expect.stringMatching(/terminated by other getUpdates/),
    });
    expect((await newer).status).toBe(200);
  });

  it('records multipart sendVoice uploads, serves the file back, and enforces the caption limit', async () => {
    const form = new FormData();
    form.set('chat_id', '42');
    form.set('caption', 'your answer');
    form.set('duration', '3');
    form.set('reply_parameters', JSON.stringify({ message_id: 7 }));
    form.set('voice', new Blob([Buffer.from('OggS-bytes')], { type: 'audio/ogg' }), 'reply.ogg');
    const res = await fetch(`${tg.url}/bot${tg.token}/sendVoice`, { method: 'POST', body: form });
    const sent = (await res.json()) as { result: { voice: { file_id: string; duration: number } } };
    expect(res.status).toBe(200);
    expect(sent.result.voice.duration).toBe(3);
    const [call] = tg.sent('sendVoice');
    expect(call!.params).toMatchObject({
      chat_id: '42',
      caption: 'your answer',
      reply_parameters: { message_id: 7 },
    });
    expect(call!.files.voice).toMatchObject({ filename: 'reply.ogg', contentType: 'audio/ogg' });
    expect(call!.files.voice!.data.toString()).toBe('OggS-bytes');

    const file = (await api('getFile', { file_id: sent.result.voice.file_id })).body.result as {
      file_path: string;
    };
    const bytes = await fetch(`${tg.url}/file/bot${tg.token}/${file.file_path}`).then((r) => r.arrayBuffer());
    expect(Buffer.from(bytes).toString()).toBe('OggS-bytes');
    expect((await fetch(`${tg.url}/file/bot99:WRONG/${file.file_path}`)).status).toBe(404);

    const long = new FormData();
    long.set('chat_id', '42');
    long.set('caption', 'x'.repeat(1025));
    long.set('voice', new Blob([Buffer.from('OggS')]), 'v.ogg');
    const refused = await fetch(`${tg.url}/bot${tg.token}/sendVoice`, { method: 'POST', body: long });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as ApiAnswer).description).toBe(
      'Bad Request: message caption is too long',
    );
    expect(tg.sent('sendVoice')).toHaveLength(1);
  });

  it('enforces the text limit, reads GET query parameters, refuses big files, and scripts 429s', async () => {
    expect((await api('sendMessage', { chat_id: 42, text: 'x'.repeat(4097) })).body.description).toBe(
      'Bad Request: message is too long',
    );
    const viaGet = await fetch(`${tg.url}/bot${tg.token}/sendMessage?chat_id=42&text=hi`);
    expect(viaGet.status).toBe(200);
    expect(tg.sent('sendMessage').map((c) => c.params.text)).toEqual(['hi']);

    tg.downloadLimitBytes = 3;
    const big = tg.addFile(Buffer.from('four'));
    expect((await api('getFile', { file_id: big.fileId })).body.description).toBe(
      'Bad Request: file is too big',
    );

    tg.failNext('sendChatAction', 2, { retryAfter: 7 });
    const a = await api('sendChatAction', { chat_id: 42, action: 'typing' });
    expect(a).toEqual({
      status: 429,
      body: {
        ok: false,
        error_code: 429,
        description: 'Too Many Requests: retry after 7',
        parameters: { retry_after: 7 },
      },
    });
    expect((await api('sendChatAction', { chat_id: 42, action: 'typing' })).status).toBe(429);
    expect((await api('sendChatAction', { chat_id: 42, action: 'typing' })).status).toBe(200);
    expect((await api('sendChatAction', { chat_id: 42, action: 'dancing' })).status).toBe(400);
  });

  it('pushes updates to a webhook with its secret until the bot answers 2xx, and refuses getUpdates meanwhile', async () => {
    const received: Array<{ secret: string | undefined; updateId: number }> = [];
    let failures = 1;
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({
          secret: req.headers['x-telegram-bot-api-secret-token'] as string | undefined,
          updateId: (JSON.parse(body) as { update_id: number }).update_id,
        });
        res.writeHead(failures-- > 0 ? 500 : 200).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
      expect((await api('setWebhook', { url, secret_token: 'shh-123' })).body.result).toBe(true);
      expect((await api('getUpdates')).status).toBe(409);
      const { updateId } = tg.pushMessage({ from: ada, chat: privateChat(ada), text: 'pushed' });
      await tg.waitFor(() => tg.pendingUpdates().length === 0, 'the webhook to accept the update');
      expect(received).toEqual([
        { secret: 'shh-123', updateId },
        { secret: 'shh-123', updateId },
      ]);
      await api('deleteWebhook');
      expect((await api('getUpdates')).status).toBe(200);
    } finally {
      await new Promise<void>((r) => hook.close(() => r()));
    }
  });

  it('fills in a voice note duration from the OGG stream, like a Telegram client', async () => {
    const ogg = await silentVoiceNote(await makeTempDir(), 3);
    tg.sendVoiceNote(ada, privateChat(ada), ogg);
    const [update] = (await api('getUpdates')).body.result as Array<{
      message: { voice: Record<string, unknown> };
    }>;
    expect(update!.message.voice).toMatchObject({
      duration: 3,
      mime_type: 'audio/ogg',
      file_size: ogg.length,
    });
    const file = (await api('getFile', { file_id: update!.message.voice.file_id })).body.result as {
      file_path: string;
    };
    const res = await fetch(`${tg.url}/file/bot${tg.token}/${file.file_path}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(ogg)).toBe(true);
  });
});
