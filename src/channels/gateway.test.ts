/**
 * Every branch of the gateway's decision, on its real collaborators: the channel database (access,
 * conversations) in memory, the in-memory rate limiter, and the SQLite task queue in a temp dir. The
 * gateway sends nothing, so each test reads the outcome it returns.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { openSqliteQueue, type SqliteTaskQueue } from '../tasks/sqlite/sqlite-queue.js';
import {
  ChannelGateway,
  OWNER_PAIRED_TEXT,
  RATE_LIMITED_TEXT,
  UNSUPPORTED_TEXT,
  type ChannelTraits,
} from './gateway.js';
import { HELP_TEXT } from './commands.js';
import { MemoryRateLimiter } from './rate-limit.js';
import { AccessControl } from './store/access.js';
import { ConversationStore } from './store/conversations.js';
import { openChannelDb } from './store/db.js';
import { CHANNEL_TEXT_KIND, CHANNEL_VOICE_KIND, type ChannelTurnPayload } from './turn-task.js';
import type { InboundMessage } from './types.js';

const telegram: ChannelTraits = {
  limits: { maxTextLength: 4096, maxCaptionLength: 1024, maxDownloadBytes: 1024 * 1024 },
};
const web: ChannelTraits = { ...telegram, authenticatesUsers: true };

let dir: string;
let queue: SqliteTaskQueue;
let access: AccessControl;
let conversations: ConversationStore;
let gateway: ChannelGateway;
let nextId = 1;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'june-gateway-'));
  queue = await openSqliteQueue({ file: path.join(dir, 'tasks.db') });
  const db = openChannelDb(':memory:');
  access = new AccessControl(db, ['telegram:1'], Date.now, {
    strangerReplyIntervalMs: 60_000,
    revokedCooldownMs: 60_000,
  });
  conversations = new ConversationStore(db);
  gateway = new ChannelGateway({
    queue,
    access,
    conversations,
    rateLimiter: new MemoryRateLimiter({ perMinute: 1, burst: 3 }),
    allowGroups: ['telegram:-100'],
    logger: createLogger('silent'),
  });
});

afterEach(async () => {
  await queue.close();
  await fs.rm(dir, { recursive: true, force: true });
});

function message(over: Partial<InboundMessage> = {}): InboundMessage {
  return {
    channel: 'telegram',
    chatId: over.userId ?? '1',
    userId: '1',
    messageId: String(nextId++),
    chatType: 'private',
    mentioned: false,
    repliedToBot: false,
    attachments: [],
    receivedAt: Date.now(),
    ...over,
  };
}

/** A gateway over an empty access database that answers strangers every time. */
function withFreshAccess() {
  const db = openChannelDb(':memory:');
  const fresh = new AccessControl(db, [], Date.now, {
    strangerReplyIntervalMs: 0,
    revokedCooldownMs: 60_000,
  });
  const g = new ChannelGateway({
    queue,
    access: fresh,
    conversations: new ConversationStore(db),
    rateLimiter: new MemoryRateLimiter({ perMinute: 1, burst: 3 }),
    allowGroups: [],
    logger: createLogger('silent'),
  });
  return { g, fresh };
}

const group = (over: Partial<InboundMessage> = {}) =>
  message({ chatType: 'group', chatId: '-100', text: 'hi', ...over });

describe('ChannelGateway.accept', () => {
  it('accepts a text from an allowed user as a channel.text task, once per platform message', async () => {
    const msg = message({ text: '  what time is it? ' });
    const outcome = await gateway.accept(msg, telegram);
    expect(outcome).toMatchObject({ kind: 'accepted' });
    const taskId = (outcome as { taskId: string }).taskId;
    const task = (await queue.get(taskId))!.task;
    expect(task).toMatchObject({
      kind: CHANNEL_TEXT_KIND,
      capability: 'chat',
      conversationKey: 'telegram:1:1',
      idempotencyKey: `telegram:1:${msg.messageId}`,
    });
    expect((task.payload as ChannelTurnPayload).message.text).toBe('  what time is it? ');
    // the platform sends the same message again: the same task, and no second rate-limit token
    expect(await gateway.accept(msg, telegram)).toEqual({ kind: 'accepted', taskId });
    expect(await queue.list()).toHaveLength(1);
  });

  it('accepts a voice note as a channel.voice task with its attachment', async () => {
    const voice = { kind: 'voice' as const, fileId: 'f1', mimeType: 'audio/ogg', sizeBytes: 5000 };
    const outcome = await gateway.accept(message({ attachments: [voice] }), telegram);
    const task = (await queue.get((outcome as { taskId: string }).taskId))!.task;
    expect(task).toMatchObject({ kind: CHANNEL_VOICE_KIND, capability: 'voice' });
    expect((task.payload as ChannelTurnPayload).attachment).toEqual(voice);
  });

  it('ignores groups that are not allowed, and messages in allowed groups that do not address June', async () => {
    expect(await gateway.accept(group({ chatId: '-200', mentioned: true }), telegram)).toEqual({
      kind: 'ignored',
      reason: 'group_not_allowed',
    });
    expect(await gateway.accept(group(), telegram)).toEqual({ kind: 'ignored', reason: 'not_addressed' });
    expect(await gateway.accept(group({ mentioned: true }), telegram)).toMatchObject({ kind: 'accepted' });
    expect(await gateway.accept(group({ repliedToBot: true }), telegram)).toMatchObject({
      kind: 'accepted',
    });
  });

  it('ignores a stranger in a group silently: no pairing code goes out in groups', async () => {
    const outcome = await gateway.accept(group({ userId: '66', mentioned: true }), telegram);
    expect(outcome).toEqual({ kind: 'ignored', reason: 'stranger' });
    expect(access.pending()).toEqual([]);
  });

  it('gives a stranger a pairing code, then stays quiet for the reply interval', async () => {
    const first = await gateway.accept(message({ userId: '7', text: 'hello' }), telegram);
    const code = access.pending('telegram')[0]!.code;
    expect(first).toEqual({
      kind: 'reply',
      reason: 'pairing',
      text: expect.stringContaining(`Your pairing code is ${code}.`),
    });
    expect(await gateway.accept(message({ userId: '7', text: 'hello?' }), telegram)).toEqual({
      kind: 'ignored',
      reason: 'stranger',
    });
    expect(await queue.list()).toEqual([]);
  });

  it('tells a stranger when every pairing slot is taken, or while they cool down', async () => {
    const { g, fresh } = withFreshAccess();
    for (const u of ['a', 'b', 'c']) await g.accept(message({ userId: u, text: 'hi' }), telegram);
    expect(await g.accept(message({ userId: 'd', text: 'hi' }), telegram)).toEqual({
      kind: 'reply',
      reason: 'pairing',
      text: 'Too many pairing requests are waiting right now. Please try again later.',
    });
    fresh.deny(fresh.pending('telegram').find((p) => p.userId === 'a')!.code);
    expect(await g.accept(message({ userId: 'a', text: 'again' }), telegram)).toEqual({
      kind: 'reply',
      reason: 'pairing',
      text: "I can't give you a pairing code right now. Please try again later.",
    });
    // the slot 'a' had is free for someone else
    expect(await g.accept(message({ userId: 'd', text: 'hi' }), telegram)).toMatchObject({
      text: expect.stringContaining('Your pairing code is'),
    });
  });

  it('pairs the sender of the setup code as owner, whatever the pending slots hold', async () => {
    const { g, fresh } = withFreshAccess();
    for (const u of ['a', 'b', 'c']) await g.accept(message({ userId: u, text: 'hi' }), telegram);
    const code = fresh.setupCode()!;
    expect(await g.accept(message({ userId: 'o', text: 'not the code at all' }), telegram)).toMatchObject({
      reason: 'pairing',
      text: expect.stringMatching(/^Too many pairing requests/),
    });
    expect(await g.accept(message({ userId: 'o', text: `/start ${code}` }), telegram)).toEqual({
      kind: 'reply',
      reason: 'owner_paired',
      text: OWNER_PAIRED_TEXT,
    });
    expect(fresh.roleOf('telegram', 'o')).toBe('owner');
    expect(await g.accept(message({ userId: 'o', text: 'now a question' }), telegram)).toMatchObject({
      kind: 'accepted',
    });
  });

  it('answers commands at once, without a task and without a rate-limit token', async () => {
    const ref = { channel: 'telegram', chatId: '1', userId: '1' };
    expect(await gateway.accept(message({ text: '/help' }), telegram)).toEqual({
      kind: 'reply',
      reason: 'command',
      text: HELP_TEXT,
    });
    expect(await gateway.accept(message({ text: '/voice@JuneBot always' }), telegram)).toEqual({
      kind: 'reply',
      reason: 'command',
      text: 'Voice replies: always.',
    });
    expect(conversations.prefs(ref).voiceMode).toBe('always');
    expect(await gateway.accept(message({ text: '/new' }), telegram)).toEqual({
      kind: 'reply',
      reason: 'command',
      text: 'Started a new conversation. What would you like to talk about?',
    });
    for (let i = 0; i < 5; i++)
      expect(await gateway.accept(message({ text: '/lang' }), telegram)).toMatchObject({ reason: 'command' });
    expect(await queue.list()).toEqual([]);
    // an unknown command is an ordinary message for the LLM
    expect(await gateway.accept(message({ text: '/weather Paris' }), telegram)).toMatchObject({
      kind: 'accepted',
    });
  });

  it('says "slow down" past the burst; a redelivered message is not counted again', async () => {
    for (let i = 0; i < 3; i++)
      expect(await gateway.accept(message({ text: `m${i}` }), telegram)).toMatchObject({ kind: 'accepted' });
    expect(await gateway.accept(message({ text: 'one more' }), telegram)).toEqual({
      kind: 'reply',
      reason: 'rate_limited',
      text: RATE_LIMITED_TEXT,
    });
    expect(
      await gateway.accept(message({ text: 'parked earlier' }), telegram, { redelivered: true }),
    ).toMatchObject({ kind: 'accepted' });
  });

  it('does not count a message twice when storing it failed the first time', async () => {
    const db = new Database(path.join(dir, 'tasks.db'));
    db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON tasks BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`);
    const msg = message({ text: 'stored on the fourth try' });
    for (let i = 0; i < 3; i++)
      await expect(gateway.accept(msg, telegram)).rejects.toThrow(/disk I\/O error/);
    db.exec('DROP TRIGGER refuse');
    db.close();
    expect(await gateway.accept(msg, telegram)).toMatchObject({ kind: 'accepted' });
    // the burst of 3 was spent on one message, not on its retries
    expect(await gateway.accept(message({ text: 'next' }), telegram)).toMatchObject({ kind: 'accepted' });
  });

  it('refuses an attachment over the download limit and one it cannot listen to', async () => {
    const big = { kind: 'voice' as const, fileId: 'f', sizeBytes: 3 * 1024 * 1024 };
    expect(await gateway.accept(message({ attachments: [big] }), telegram)).toEqual({
      kind: 'reply',
      reason: 'too_large',
      text: 'That file is 3 MB, and I can only download files up to 1 MB. Please send a shorter recording.',
    });
    const photo = { kind: 'image' as const, fileId: 'p' };
    expect(await gateway.accept(message({ attachments: [photo] }), telegram)).toEqual({
      kind: 'reply',
      reason: 'unsupported',
      text: UNSUPPORTED_TEXT,
    });
    // a photo with a caption is a text message
    expect(await gateway.accept(message({ attachments: [photo], text: 'look' }), telegram)).toMatchObject({
      kind: 'accepted',
    });
  });

  it('ignores an empty message', async () => {
    expect(await gateway.accept(message({ text: '   ' }), telegram)).toEqual({
      kind: 'ignored',
      reason: 'empty',
    });
  });

  it('skips pairing on a channel that authenticates its users (the web API)', async () => {
    const outcome = await gateway.accept(message({ channel: 'web', userId: 'token-user', text: 'hi' }), web);
    expect(outcome).toMatchObject({ kind: 'accepted' });
    expect(access.pending()).toEqual([]);
  });
});
