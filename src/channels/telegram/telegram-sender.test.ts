/**
 * The Telegram sender on its own, against the fake Bot API server (real HTTP): what a send-only worker
 * uses, with no adapter, no getMe and no polling. The adapter's own suite covers the same calls through it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startFakeTelegramServer,
  type FakeTelegramServer,
} from '../../../test/helpers/fake-telegram-server.js';
import { AudioError } from '../../util/errors.js';
import { ChannelError } from '../errors.js';
import { TelegramSender } from './telegram-sender.js';

const TOKEN = '4711:AAE-sender-test-token';
let tg: FakeTelegramServer;

beforeAll(async () => {
  tg = await startFakeTelegramServer({ token: TOKEN });
});
afterAll(async () => {
  await tg?.close();
});

describe('TelegramSender', () => {
  it('sends text and downloads through the API root (a trailing slash allowed), and calls nothing else', async () => {
    const sender = new TelegramSender(TOKEN, `${tg.url}/`, 1000);
    await sender.sendText({ channel: 'telegram', chatId: '42', userId: '42' }, 'hello');
    expect(tg.calls().map((c) => c.method)).toEqual(['sendMessage']);
    expect(tg.sent('sendMessage')[0]!.params).toMatchObject({ chat_id: '42', text: 'hello' });
    expect(tg.sent('sendMessage')[0]!.params.reply_parameters).toBeUndefined();

    const small = tg.addFile(Buffer.from('voice bytes'));
    expect((await sender.download({ kind: 'voice', fileId: small.fileId })).toString()).toBe('voice bytes');
    const big = tg.addFile(Buffer.alloc(2000));
    await expect(sender.download({ kind: 'voice', fileId: big.fileId })).rejects.toBeInstanceOf(AudioError);
  });

  it('maps a refused call to a ChannelError without the token', async () => {
    const sender = new TelegramSender(TOKEN, tg.url, 1000);
    tg.failNext('sendChatAction', 1, { status: 400, description: 'Bad Request: chat not found' });
    const err = await sender
      .sendActivity({ channel: 'telegram', chatId: '1', userId: '1' }, 'typing')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect(String((err as Error).message)).toMatch(/chat not found/);
    expect(String((err as Error).message)).not.toContain(TOKEN);
  });
});
