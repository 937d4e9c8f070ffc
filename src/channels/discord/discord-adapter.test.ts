/**
 * The Discord adapter against a local Discord (test/helpers/fake-discord-server.ts) that discord.js really
 * connects to over HTTP and WebSocket: what it sends (REST only, no login needed), what it receives and
 * how it maps it, slash commands, rate limits, a dropped gateway connection, and failures to log in.
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { sendWithRetry } from '../delivery.js';
import { ChannelError, RateLimitedError } from '../errors.js';
import { replyTarget } from '../turn-task.js';
import type { ChannelAdapter, InboundMessage } from '../types.js';
import { makeTempDir, spokenVoiceNote } from '../../../test/helpers/speech-fixtures.js';
import { startFakeDiscordServer, type FakeDiscordServer } from '../../../test/helpers/fake-discord-server.js';
import { openSqliteQueue } from '../../tasks/sqlite/sqlite-queue.js';
import { eventually } from '../../tasks/testing/eventually.js';
import { CHANNEL_INBOUND_KIND, parkInbound, type ParkedInbound } from '../inbound-task.js';
import { createDiscordAdapter } from './discord-adapter.js';

const IS_VOICE_MESSAGE = 1 << 13;
const EPHEMERAL = 1 << 6;

/** A logger whose output the test can read (to check what is, and is not, logged). */
function captureLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), text: () => lines.join('') };
}

function configFor(fake: FakeDiscordServer, overrides: Record<string, unknown> = {}) {
  return loadConfig({
    env: {},
    overrides: { discordToken: fake.token, discordApiBase: fake.apiBase, ...overrides },
  });
}

let fake: FakeDiscordServer;
let speech: Buffer;
const adapters: ChannelAdapter[] = [];

async function adapter(overrides: Record<string, unknown> = {}, logger = captureLogger().logger) {
  const a = await createDiscordAdapter(configFor(fake, overrides), logger);
  adapters.push(a);
  return a;
}

/** A started adapter and the messages it hands over. */
async function started(handle?: (msg: InboundMessage, a: ChannelAdapter) => Promise<void>) {
  const received: InboundMessage[] = [];
  const a = await adapter();
  await a.start(async (msg) => {
    received.push(msg);
    await handle?.(msg, a);
  });
  return { a, received };
}

beforeAll(async () => {
  fake = await startFakeDiscordServer();
  speech = await spokenVoiceNote(await makeTempDir(), 'hello from the voice message test');
});

afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.stop()));
  fake.reset();
});

afterAll(async () => {
  await fake?.close();
});

describe('sending, without logging in', () => {
  it('sends text as a reply over REST, with the bot token and no pings', async () => {
    const a = await adapter();
    const alice = fake.user('alice');
    const question = fake.sendDm(alice, 'hi');
    const chatId = fake.dmChannelId(alice);
    await a.sendText(
      { channel: 'discord', chatId, userId: alice.id, replyToMessageId: String(question.id) },
      'Hello @everyone',
    );
    await a.sendActivity({ channel: 'discord', chatId, userId: alice.id }, 'typing');

    const [sent] = fake.sent(chatId);
    expect(sent).toMatchObject({ via: 'message', content: 'Hello @everyone', replyTo: question.id });
    expect(sent!.payload.allowed_mentions).toEqual({ parse: [], replied_user: true });
    expect(fake.typing(chatId)).toHaveLength(1);
    const post = fake.requests().find((r) => r.method === 'POST' && r.path.endsWith('/messages'))!;
    expect(post.headers.authorization).toBe(`Bot ${fake.token}`);
    // nothing touched the gateway
    expect(fake.gateway.connections).toHaveLength(0);
  });

  it('sends a voice message: one OGG/Opus file, IS_VOICE_MESSAGE, duration and a waveform from the audio', async () => {
    const a = await adapter();
    const bob = fake.user('bob');
    const chatId = fake.dmChannelId(bob);
    await a.sendVoice(
      { channel: 'discord', chatId, userId: bob.id },
      { data: speech, mimeType: 'audio/ogg', durationSec: 0 },
      'the caption',
    );

    const [voice, caption] = fake.sent(chatId);
    expect(voice!.flags & IS_VOICE_MESSAGE).toBe(IS_VOICE_MESSAGE);
    expect(voice!.content).toBe('');
    expect(voice!.files).toHaveLength(1);
    expect(voice!.files[0]).toMatchObject({ name: 'voice-message.ogg', contentType: 'audio/ogg' });
    expect(voice!.files[0]!.data.equals(speech)).toBe(true);
    const att = voice!.attachments[0]!;
    // espeak-ng says the sentence in about two seconds
    expect(att.duration_secs as number).toBeGreaterThan(1);
    expect(att.duration_secs as number).toBeLessThan(5);
    const bars = Buffer.from(att.waveform as string, 'base64');
    expect(bars.length).toBe(Math.round((att.duration_secs as number) * 10));
    expect(Math.max(...bars)).toBe(255);
    // speech has quiet and loud moments: the bars are not flat
    expect(new Set(bars).size).toBeGreaterThan(5);
    // Discord refuses text on a voice message, so the caption came as its own message
    expect(caption).toMatchObject({ content: 'the caption', flags: 0 });
  });

  it('sends a document as the message file (files[0] multipart) with its caption', async () => {
    const a = await adapter();
    const bob = fake.user('bob');
    const chatId = fake.dmChannelId(bob);
    const diff = Buffer.from('--- a/hi.sh\n+++ b/hi.sh\n+echo hi\n');
    await a.sendDocument!(
      { channel: 'discord', chatId, userId: bob.id },
      { data: diff, fileName: 'run-1.diff', mimeType: 'text/x-diff' },
      'The changes',
    );
    const [doc] = fake.sent(chatId);
    expect(doc).toMatchObject({ content: 'The changes', flags: 0 });
    expect(doc!.files).toHaveLength(1);
    expect(doc!.files[0]).toMatchObject({ name: 'run-1.diff', contentType: 'text/x-diff' });
    expect(doc!.files[0]!.data.equals(diff)).toBe(true);
  });

  it('sends an editable status message and edits it in place (PATCH), as a coding run does', async () => {
    const a = await adapter();
    const dora = fake.user('dora');
    const chatId = fake.dmChannelId(dora);
    const target = { channel: 'discord', chatId, userId: dora.id };
    const id = await a.sendEditableText!(target, 'Coding task: starting…');
    expect(fake.sent(chatId).map((m) => m.id)).toEqual([id]);
    await a.editText!(target, id, 'Coding task: step 1: thinking');
    await a.editText!(target, id, 'Coding task: done after 1 steps.');
    expect(fake.edits(chatId).map((e) => [e.messageId, e.content])).toEqual([
      [id, 'Coding task: step 1: thinking'],
      [id, 'Coding task: done after 1 steps.'],
    ]);
    expect(fake.state.message(chatId, id)?.content).toBe('Coding task: done after 1 steps.');
    // one message, edited: nothing more was posted
    expect(fake.sent(chatId)).toHaveLength(1);
    await expect(a.editText!(target, '123456789012345678', 'x')).rejects.toThrow(/Unknown Message/);
  });

  it('downloads attachments, asking for a fresh URL once the signed one expired', async () => {
    const a = await adapter();
    const carol = fake.user('carol');
    const msg = fake.sendDm(carol, '', [{ filename: 'note.ogg', contentType: 'audio/ogg', data: speech }]);
    const url = String((msg.attachments as { url: string }[])[0]!.url);
    const att = { kind: 'audio' as const, fileId: url };
    expect((await a.download(att)).equals(speech)).toBe(true);

    fake.expireAttachmentUrls();
    expect((await a.download(att)).equals(speech)).toBe(true);
    expect(fake.requests().some((r) => r.path === '/attachments/refresh-urls')).toBe(true);
  });

  it('refuses downloads over the size limit without reading them', async () => {
    const a = await adapter({ audioMaxBytes: 1000 });
    expect(a.limits).toMatchObject({ maxTextLength: 2000, maxCaptionLength: 0, maxDownloadBytes: 1000 });
    const dave = fake.user('dave');
    const msg = fake.sendDm(dave, '', [{ filename: 'big.ogg', contentType: 'audio/ogg', data: speech }]);
    const url = String((msg.attachments as { url: string }[])[0]!.url);
    const err = await a.download({ kind: 'audio', fileId: url }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect((err as ChannelError).retryable).toBe(false);
  });

  it('turns a 429 into RateLimitedError with Retry-After, and the retry sends the message once', async () => {
    const a = await adapter();
    const erin = fake.user('erin');
    const chatId = fake.dmChannelId(erin);
    const target = { channel: 'discord', chatId, userId: erin.id };
    fake.rateLimit({ method: 'POST', path: /\/messages$/, retryAfterSec: 1 });

    const err = await a.sendText(target, 'first try').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    // Retry-After (1 s) plus discord.js's safety offset
    expect((err as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect((err as RateLimitedError).retryAfterMs).toBeLessThan(2000);
    expect(fake.sent(chatId)).toHaveLength(0);

    fake.rateLimit({ method: 'POST', path: /\/messages$/, retryAfterSec: 1 });
    const t0 = Date.now();
    await sendWithRetry(() => a.sendText(target, 'second try'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(fake.sent(chatId).map((m) => m.content)).toEqual(['second try']);
  });

  it('reports API errors with Discord’s reason, retryable only for server errors', async () => {
    const a = await adapter();
    const unknown = await a
      .sendText({ channel: 'discord', chatId: '123456789012345678', userId: '1' }, 'hello')
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ChannelError);
    expect((unknown as ChannelError).message).toContain('Unknown Channel');
    expect((unknown as ChannelError).retryable).toBe(false);
  });
});

describe('receiving', () => {
  it('maps DMs, guild mentions and replies to the bot, and ignores itself and other bots', async () => {
    const { a, received } = await started();
    const alice = fake.user('alice', { globalName: 'Alice A.' });
    const robot = fake.user('robot', { bot: true });
    const general = fake.guilds[0]!.channels[0]!.id;

    fake.sendDm(alice, 'hello in private');
    fake.sendGuildMessage({ user: alice, channelId: general, content: 'just chatting' });
    fake.sendGuildMessage({ user: alice, channelId: general, content: 'what time is it?', mentionBot: true });
    fake.sendGuildMessage({ user: robot, channelId: general, content: 'beep', mentionBot: true });
    fake.sendGuildMessage({ user: alice, channelId: general, content: 'and by role?', mentionBot: 'role' });
    await fake.waitFor(() => received.length >= 4, { what: 'four messages' });

    const [dm, chat, mention, roleMention] = received;
    expect(dm).toMatchObject({
      channel: 'discord',
      chatType: 'private',
      chatId: fake.dmChannelId(alice),
      userId: alice.id,
      userName: 'Alice A.',
      text: 'hello in private',
      mentioned: false,
    });
    expect(chat).toMatchObject({ chatType: 'group', chatId: general, mentioned: false, repliedToBot: false });
    // the bot's own mention is not part of what the LLM reads
    expect(mention).toMatchObject({ chatType: 'group', mentioned: true, text: 'what time is it?' });
    // the mention picker often inserts the bot's managed role instead of the bot
    expect(roleMention).toMatchObject({ mentioned: true, text: 'and by role?' });

    // the bot answers in the channel; its own message comes back over the gateway and is ignored
    await a.sendText(replyTarget(mention!), 'It is noon.');
    const botMessage = fake.sent(general).at(-1)!;
    fake.sendGuildMessage({ user: alice, channelId: general, content: 'thanks', replyTo: botMessage.id });
    const reply = await fake.waitFor(() => received.find((m) => m.text === 'thanks'));
    expect(reply).toMatchObject({ repliedToBot: true, mentioned: false, replyToMessageId: botMessage.id });
    expect(received.some((m) => m.userId === robot.id || m.userId === fake.bot.id)).toBe(false);
  });

  it('maps voice messages, audio files and other attachments', async () => {
    const { received } = await started();
    const bob = fake.user('bob');
    fake.sendVoiceMessage(bob, speech);
    fake.sendDm(bob, 'listen', [
      { filename: 'song.mp3', contentType: 'audio/mpeg', data: Buffer.alloc(2000, 1) },
    ]);
    fake.sendDm(bob, '', [{ filename: 'cat.png', contentType: 'image/png', data: Buffer.alloc(10, 2) }]);
    fake.sendDm(bob, '', [
      { filename: 'report.pdf', contentType: 'application/pdf', data: Buffer.alloc(10, 3) },
    ]);
    await fake.waitFor(() => received.length >= 4, { what: 'four messages' });

    expect(received[0]!.attachments).toEqual([
      expect.objectContaining({
        kind: 'voice',
        mimeType: 'audio/ogg',
        sizeBytes: speech.length,
        fileName: 'voice-message.ogg',
        durationSec: expect.any(Number),
      }),
    ]);
    expect(received[0]!.text).toBeUndefined();
    expect(received[1]).toMatchObject({ text: 'listen', attachments: [{ kind: 'audio', sizeBytes: 2000 }] });
    expect(received[2]!.attachments[0]).toMatchObject({ kind: 'image', mimeType: 'image/png' });
    expect(received[3]!.attachments[0]).toMatchObject({ kind: 'other', mimeType: 'application/pdf' });
  });

  it('registers /new and /voice and answers slash commands through the interaction', async () => {
    const { received } = await started(async (msg, a) => {
      if (msg.text === '/voice always') {
        await a.sendText(replyTarget(msg), 'Voice replies: always.');
        await a.sendText(replyTarget(msg), 'A second part.');
      }
    });
    const names = fake.commands().map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['new', 'voice']));
    const voice = fake.commands().find((c) => c.name === 'voice')!;
    expect((voice.options as { choices: { value: string }[] }[])[0]!.choices.map((c) => c.value)).toEqual([
      'auto',
      'always',
      'never',
    ]);

    const carol = fake.user('carol');
    const interaction = fake.slashCommand(carol, 'voice', { mode: 'always' });
    await fake.waitFor(() => fake.sent().length >= 2, { what: 'two answers' });
    expect(received[0]).toMatchObject({ text: '/voice always', chatType: 'private', mentioned: true });
    const [answer, followUp] = fake.sent();
    expect(answer).toMatchObject({
      via: 'interaction',
      interactionId: interaction.id,
      content: 'Voice replies: always.',
    });
    expect(answer!.flags & EPHEMERAL).toBe(0);
    expect(followUp).toMatchObject({ via: 'followup', content: 'A second part.' });

    // a command the gateway leaves unanswered (a channel June is not enabled in) still gets an answer
    fake.slashCommand(carol, 'new', {}, { channelId: fake.guilds[0]!.channels[1]!.id });
    const fallback = await fake.waitFor(() => fake.sent().find((m) => m.content.includes("can't answer")));
    expect(fallback.flags & EPHEMERAL).toBe(EPHEMERAL);
  });

  it('asks the user to send a message again when it could not be accepted', async () => {
    await started(async () => {
      throw new Error('database is locked');
    });
    const gina = fake.user('gina');
    const msg = fake.sendDm(gina, 'remember this');
    const apology = await fake.waitFor(() => fake.sent(fake.dmChannelId(gina))[0]);
    expect(apology.content).toMatch(/couldn't take that message.*send it again/);
    expect(apology.replyTo).toBe(msg.id);
  });

  it('parks a message it could not accept as a channel.inbound task, to be taken in again', async () => {
    const dir = await makeTempDir();
    const queue = await openSqliteQueue({ file: path.join(dir, 'tasks.db') });
    try {
      const a = await adapter();
      await a.start(async () => {
        throw new Error('database is locked');
      }, parkInbound(queue));
      const hana = fake.user('hana');
      const msg = fake.sendDm(hana, 'keep this one');
      const parked = await eventually(async () => (await queue.list())[0], 'the parked message');
      expect(parked).toMatchObject({ kind: CHANNEL_INBOUND_KIND, capability: 'chat' });
      const payload = parked.payload as ParkedInbound;
      expect(payload).toMatchObject({
        channel: 'discord',
        updateId: msg.id,
        error: 'Error: database is locked',
        target: { chatId: fake.dmChannelId(hana), replyToMessageId: msg.id },
      });
      // the parked task reads back the message as it came in
      expect(a.readInbound!(payload.raw)).toMatchObject({ text: 'keep this one', userId: hana.id });
      // no "send it again": the message is kept
      expect(fake.sent(fake.dmChannelId(hana))).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('resumes after the gateway connection drops, receiving what was sent meanwhile', async () => {
    const { received } = await started();
    const dan = fake.user('dan');
    fake.gateway.drop(4000);
    fake.sendDm(dan, 'sent while the bot was offline');
    const msg = await fake.waitFor(() => received.find((m) => m.userId === dan.id));
    expect(msg.text).toBe('sent while the bot was offline');
    expect(fake.gateway.connections.length).toBeGreaterThanOrEqual(2);
  });
});

describe('logging in', () => {
  it('fails clearly on a token Discord rejects, and never logs the token', async () => {
    const log = captureLogger();
    const wrong = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GwRong.this-token-is-not-the-bots-token';
    const a = await createDiscordAdapter(configFor(fake, { discordToken: wrong }), log.logger);
    adapters.push(a);
    const err = await a.start(async () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect((err as ChannelError).retryable).toBe(false);
    expect((err as Error).message).toMatch(/rejected the bot token/);
    expect((err as Error).message).not.toContain(wrong);
    expect(log.text()).not.toContain(wrong);
    expect(fake.requests().find((r) => r.path === '/gateway/bot')?.status).toBe(401);
  });

  it('fails clearly when the gateway (set by discordGatewayUrl) closes with 4004', async () => {
    // a second Discord whose gateway does not know this bot's token
    const other = await startFakeDiscordServer();
    try {
      const a = await adapter({ discordGatewayUrl: other.gatewayUrl });
      const err = await a.start(async () => undefined).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/gateway close 4004/);
      expect(other.gateway.connections).toHaveLength(1);
      expect(fake.gateway.connections).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  it('explains the MESSAGE CONTENT intent when Discord refuses it (close 4014)', async () => {
    const strict = await startFakeDiscordServer({ messageContentIntent: false });
    try {
      const a = await createDiscordAdapter(
        loadConfig({ env: {}, overrides: { discordToken: strict.token, discordApiBase: strict.apiBase } }),
        captureLogger().logger,
      );
      adapters.push(a);
      const err = await a.start(async () => undefined).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/Message Content Intent/);
    } finally {
      await strict.close();
    }
  });
});
