/**
 * The Telegram adapter against the fake Bot API server (real HTTP): sending, downloading, error mapping,
 * and the durability of receiving (an update is acknowledged only after its handler resolved).
 */
import net, { type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../observability/logger.js';
import { AudioError } from '../../util/errors.js';
import {
  startFakeTelegramServer,
  privateChat,
  tgUser,
  type FakeTelegramServer,
} from '../../../test/helpers/fake-telegram-server.js';
import { COMMANDS } from '../commands.js';
import { ChannelError, RateLimitedError } from '../errors.js';
import type { InboundMessage, ReplyTarget } from '../types.js';
import { createTelegramAdapter, type TelegramAdapter, type TelegramConfig } from './telegram-adapter.js';

const logger = createLogger('silent');
const TOKEN = '4711:AAE-adapter-test-token';
const ada = tgUser(42, 'Ada');
const bob = tgUser(43, 'Bob');
const target: ReplyTarget = { channel: 'telegram', chatId: '42', userId: '42', replyToMessageId: '1001' };

let tg: FakeTelegramServer;
const adapters: TelegramAdapter[] = [];

beforeAll(async () => {
  tg = await startFakeTelegramServer({ token: TOKEN });
});
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.stop()));
  tg.reset();
});
afterAll(async () => {
  await tg?.close();
});

function adapter(config: Partial<TelegramConfig> = {}) {
  const a = createTelegramAdapter(
    {
      telegramToken: TOKEN,
      telegramApiRoot: tg.url,
      telegramMaxDownloadBytes: 20 * 1024 * 1024,
      telegramWebhookUrl: undefined,
      httpHost: '127.0.0.1',
      inboundMaxAttempts: 5,
      ...config,
    },
    logger,
    { pollTimeoutSec: 2, retryDelayMs: 50 },
  );
  adapters.push(a);
  return a;
}

/** Collects what the adapter hands over; `fail(n)` makes the handler reject for message n once. */
function collector() {
  const seen: InboundMessage[] = [];
  const failOnce = new Set<string>();
  return {
    seen,
    failOnce,
    onMessage: async (m: InboundMessage) => {
      seen.push(m);
      if (failOnce.delete(m.messageId)) throw new Error('database is locked');
    },
  };
}

describe('Telegram adapter: sending and downloading', () => {
  it('contacts nothing when created, then sends text, voice, activity and downloads without start()', async () => {
    const a = adapter();
    expect(tg.calls()).toEqual([]);

    await a.sendText(target, 'hello Ada');
    await a.sendVoice(
      target,
      { data: Buffer.from('OggS-voice'), mimeType: 'audio/ogg', durationSec: 2.6 },
      'caption',
    );
    await a.sendActivity(target, 'record_voice');
    expect(tg.sent().map((c) => c.method)).toEqual(['sendMessage', 'sendVoice', 'sendChatAction']);
    const [text, voice, action] = tg.sent();
    expect(text!.params).toMatchObject({
      chat_id: '42',
      text: 'hello Ada',
      reply_parameters: { message_id: 1001 },
    });
    expect(voice!.params).toMatchObject({ chat_id: '42', caption: 'caption', duration: '3' });
    expect(voice!.params.reply_parameters).toMatchObject({
      message_id: 1001,
      allow_sending_without_reply: true,
    });
    expect(voice!.files.voice!.data.toString()).toBe('OggS-voice');
    expect(action!.params).toMatchObject({ chat_id: '42', action: 'record_voice' });

    const file = tg.addFile(Buffer.from('the voice bytes'));
    expect((await a.download({ kind: 'voice', fileId: file.fileId })).toString()).toBe('the voice bytes');
  });

  it('maps 429 to RateLimitedError, 5xx to retryable and 4xx to final ChannelErrors', async () => {
    const a = adapter();
    tg.failNext('sendMessage', 1, { retryAfter: 3 });
    const limited = await a.sendText(target, 'x').catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect((limited as RateLimitedError).retryAfterMs).toBe(3000);

    tg.failNext('sendVoice', 1, { status: 502, description: 'Bad Gateway' });
    const busy = await a
      .sendVoice(target, { data: Buffer.from('x'), mimeType: 'audio/ogg', durationSec: 1 })
      .catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(ChannelError);
    expect(busy).toMatchObject({ retryable: true, status: 502 });

    const empty = await a.sendText(target, ' ').catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(ChannelError);
    expect(empty).toMatchObject({ retryable: false, status: 400 });
    expect((empty as Error).message).toMatch(/message text is empty/);
  });

  it('says a refused token is refused, and never prints the token, also when the server is unreachable', async () => {
    const wrong = createTelegramAdapter(
      {
        telegramToken: '4711:wrong-token-value',
        telegramApiRoot: tg.url,
        telegramMaxDownloadBytes: 1e6,
        telegramWebhookUrl: undefined,
        httpHost: '127.0.0.1',
        inboundMaxAttempts: 5,
      },
      logger,
    );
    const refused = await wrong.start(async () => undefined).catch((e: unknown) => e);
    expect(refused).toMatchObject({ retryable: false, status: 401 });
    expect((refused as Error).message).toMatch(/token was refused.*JUNE_TELEGRAM_TOKEN/);
    expect((refused as Error).message).not.toContain('wrong-token-value');

    // nothing listens on port 9 (discard) on loopback: a network error, whose URL carries the token
    const offline = adapter({ telegramApiRoot: 'http://127.0.0.1:9' });
    const send = await offline.sendText(target, 'x').catch((e: unknown) => e);
    expect(send).toMatchObject({ retryable: true });
    expect(String((send as Error).message)).not.toContain('AAE-adapter-test-token');
    const dl = await offline.download({ kind: 'voice', fileId: 'F' }).catch((e: unknown) => e);
    expect(dl).toMatchObject({ retryable: true });
    expect((dl as ChannelError).userMessage).toBe(
      "I couldn't fetch your message from Telegram. Please send it again.",
    );
    expect(JSON.stringify(dl) + String((dl as Error).message)).not.toContain('AAE-adapter-test-token');
  });

  it('refuses files over the download limit before and after asking Telegram', async () => {
    const a = adapter({ telegramMaxDownloadBytes: 1000 });
    const declared = await a
      .download({ kind: 'audio', fileId: 'X', sizeBytes: 5000 })
      .catch((e: unknown) => e);
    expect(declared).toBeInstanceOf(AudioError);
    expect(declared).toMatchObject({ code: 'audio_too_large' });
    expect(tg.calls('getFile')).toEqual([]);

    // the size was not in the message, but getFile tells it
    const big = tg.addFile(Buffer.alloc(4000));
    await expect(a.download({ kind: 'voice', fileId: big.fileId })).rejects.toMatchObject({
      code: 'audio_too_large',
    });
    // the public server's own 20 MB refusal ("file is too big") reads the same to the user
    tg.downloadLimitBytes = 10;
    const b = adapter();
    await expect(b.download({ kind: 'voice', fileId: big.fileId })).rejects.toMatchObject({
      code: 'audio_too_large',
    });
  });
});

describe('Telegram adapter: receiving', () => {
  it('starts by asking who it is, publishing the commands and dropping any webhook, then polls', async () => {
    const a = adapter();
    const c = collector();
    await a.start(c.onMessage);
    expect(
      tg
        .calls()
        .slice(0, 3)
        .map((x) => x.method),
    ).toEqual(['getMe', 'setMyCommands', 'deleteWebhook']);
    expect(tg.calls('setMyCommands')[0]!.params.commands).toEqual(COMMANDS);
    expect(a.identity).toEqual({ id: 4711, username: 'JuneTestBot' });
    tg.pushMessage({ from: ada, chat: privateChat(ada), text: 'hello' });
    await tg.waitFor(() => c.seen.length === 1, 'the message');
    expect(c.seen[0]).toMatchObject({ channel: 'telegram', chatId: '42', userId: '42', text: 'hello' });
  });

  it('fetches an update again when its handler failed, keeps its chat in order, and others once', async () => {
    const a = adapter();
    const c = collector();
    const a1 = tg.pushMessage({ from: ada, chat: privateChat(ada), text: 'first' });
    tg.pushMessage({ from: ada, chat: privateChat(ada), text: 'second' });
    const b1 = tg.pushMessage({ from: bob, chat: privateChat(bob), text: 'from bob' });
    c.failOnce.add(String(a1.messageId));
    await a.start(c.onMessage);
    await tg.waitFor(
      () => tg.pendingUpdates().length === 0 && c.seen.length >= 4,
      'every update handled and confirmed',
    );

    expect(c.seen.filter((m) => m.userId === '42').map((m) => m.text)).toEqual(['first', 'first', 'second']);
    // Bob's update came again with the batch, but was not handed over twice
    expect(c.seen.filter((m) => m.userId === '43').map((m) => m.text)).toEqual(['from bob']);
    expect(tg.delivered().filter((id) => id === b1.updateId)).toHaveLength(2);
    // after the failure, the next poll still asked from the failed update on: Telegram kept it
    const offsets = tg.calls('getUpdates').map((x) => x.params.offset);
    expect(offsets[0]).toBeUndefined();
    expect(offsets[1] === undefined || Number(offsets[1]) <= a1.updateId).toBe(true);
  });

  it('confirms what it handled when stopped, so the next process does not get it again', async () => {
    const first = adapter();
    const c1 = collector();
    await first.start(c1.onMessage);
    tg.pushMessage({ from: ada, chat: privateChat(ada), text: 'one' });
    await tg.waitFor(() => c1.seen.length === 1, 'the message');
    await first.stop();
    expect(tg.pendingUpdates()).toEqual([]);

    const second = adapter();
    const c2 = collector();
    const polls = tg.calls('getUpdates').length;
    await second.start(c2.onMessage);
    tg.pushMessage({ from: ada, chat: privateChat(ada), text: 'two' });
    await tg.waitFor(() => c2.seen.length === 1, 'the new message');
    expect(c2.seen.map((m) => m.text)).toEqual(['two']);
    expect(tg.calls('getUpdates').length).toBeGreaterThan(polls);
  });

  it('starts even when Telegram is down, and connects once it is back', async () => {
    tg.failNext('getMe', 2, { status: 502, description: 'Bad Gateway' });
    const a = adapter();
    const c = collector();
    await a.start(c.onMessage);
    tg.pushMessage({ from: ada, chat: privateChat(ada), text: 'are you up' });
    await tg.waitFor(() => c.seen.length === 1, 'the message once connected');
    expect(tg.calls('getMe').map((x) => x.status)).toEqual([502, 502, 200]);
  });
});

describe('Telegram adapter: webhook mode', () => {
  it('registers the webhook with a secret, answers 200 only once the update is stored, and refuses strangers', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/telegram/hook`;
    const a = adapter({ telegramWebhookUrl: url });
    const c = collector();
    await a.start(c.onMessage);
    expect(a.webhookPort).toBe(port);
    const hook = tg.calls('setWebhook')[0]!.params;
    expect(hook).toMatchObject({ url, allowed_updates: ['message', 'callback_query'] });
    expect(String(hook.secret_token)).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(String(hook.secret_token)).not.toContain('AAE-adapter-test-token');

    // the first delivery fails (500), so Telegram sends it again
    const m = tg.pushMessage({ from: ada, chat: privateChat(ada), text: 'via webhook' });
    c.failOnce.add(String(m.messageId));
    await tg.waitFor(() => tg.pendingUpdates().length === 0, 'the update to be accepted');
    expect(c.seen.map((x) => x.text)).toEqual(['via webhook', 'via webhook']);
    expect(tg.delivered()).toEqual([m.updateId, m.updateId]);
    expect(tg.calls('getUpdates')).toEqual([]);

    const forged = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'guess' },
      body: JSON.stringify({
        update_id: 1,
        message: { message_id: 1, date: 1, chat: privateChat(ada), from: ada, text: 'x' },
      }),
    });
    expect(forged.status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${port}/other`, { method: 'POST' })).status).toBe(404);
    expect(c.seen).toHaveLength(2);
  });
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
