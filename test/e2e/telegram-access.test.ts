/**
 * Who June answers on Telegram, end to end: strangers get a pairing code and nothing reaches the LLM;
 * `june pairing approve` (the real CLI, in a child process) lets them in, the first as owner; codes expire
 * and at most three wait at once; in groups June speaks only where allowed, and only when addressed.
 */
import path from 'node:path';
import { execJune, type JuneRun } from '../helpers/june-cli.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AccessControl, PAIRING_TTL_MS } from '../../src/channels/store/access.js';
import { channelDbFile, openChannelDb } from '../../src/channels/store/db.js';
import { createLogger } from '../../src/observability/logger.js';
import { PocketsphinxSpeechToText } from '../../src/providers/stt/pocketsphinx.js';
import { EspeakTextToSpeech } from '../../src/providers/tts/espeak.js';
import { eventually } from '../../src/tasks/testing/eventually.js';
import { echoAnswer, startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import {
  groupChat,
  privateChat,
  startFakeTelegramServer,
  tgUser,
  type FakeTelegramServer,
} from '../helpers/fake-telegram-server.js';
import { startJune, type JuneUnderTest } from '../helpers/telegram-june.js';

const logger = createLogger('silent');
const CODE = /Your pairing code is ([A-HJ-NP-Z2-9]{8})\./;

let tg: FakeTelegramServer;
let llm: FakeOpenAiServer;
let stt: PocketsphinxSpeechToText;
let june: JuneUnderTest | undefined;

beforeAll(async () => {
  tg = await startFakeTelegramServer();
  llm = await startFakeOpenAiServer();
  stt = new PocketsphinxSpeechToText({ logger });
});

afterAll(async () => {
  await stt?.close();
  await tg?.close();
  await llm?.close();
});

afterEach(async () => {
  await june?.stop();
  june = undefined;
  tg.reset();
  llm.reset();
});

const start = async (env: Record<string, string> = {}) => {
  june = await startJune({
    telegram: tg,
    llm,
    engines: { stt, tts: new EspeakTextToSpeech({ logger }) },
    env,
  });
  return june;
};

const textsTo = (chatId: number) =>
  tg
    .sent('sendMessage')
    .filter((c) => String(c.params.chat_id) === String(chatId))
    .map((c) => String(c.params.text));

/** `june <args>` as a user runs it, against the same data directory and fake Telegram. */
function juneCli(args: string[], dataDir: string): Promise<JuneRun> {
  return execJune(args, {
    cwd: path.dirname(dataDir),
    env: {
      PATH: process.env.PATH,
      HOME: path.dirname(dataDir),
      JUNE_DATA_DIR: dataDir,
      JUNE_TELEGRAM_TOKEN: tg.token,
      JUNE_TELEGRAM_API_ROOT: tg.url,
    },
  });
}

describe('Telegram access', () => {
  it('gives a stranger a pairing code only; once approved by the CLI they are the owner and get answers', async () => {
    const j = await start();
    const bob = tgUser(777, 'Bob');
    tg.pushMessage({ from: bob, chat: privateChat(bob), text: 'hello, tell me a secret' });
    const [greeting] = await tg.waitFor(() => textsTo(bob.id)[0] && textsTo(bob.id), 'the pairing answer');
    const code = CODE.exec(greeting!)?.[1];
    expect(code, greeting).toBeDefined();
    expect(greeting).toContain(`june pairing approve telegram ${code}`);
    // the stranger's words went nowhere: no LLM request, no task
    expect(llm.requests).toEqual([]);
    expect(await j.tasks()).toEqual([]);

    const approved = await juneCli(['pairing', 'approve', 'telegram', code!], j.config.dataDir);
    expect(approved.stderr).toBe('');
    expect(approved).toMatchObject({ code: 0, stdout: 'approved Bob on telegram as owner\n' });
    // the CLI greets the new user through a send-only Telegram adapter
    await tg.waitFor(() => textsTo(bob.id)[1], 'the welcome message');
    expect(textsTo(bob.id)[1]).toMatch(/^You're in!/);
    expect(j.runtime.access.roleOf('telegram', String(bob.id))).toBe('owner');

    tg.pushMessage({ from: bob, chat: privateChat(bob), text: 'hello again' });
    await tg.waitFor(() => textsTo(bob.id)[2], 'the first real answer');
    expect(textsTo(bob.id)[2]).toBe(echoAnswer('hello again'));
    expect(llm.chatRequests()).toHaveLength(1);
  });

  it('keeps at most three codes waiting, gives the same code again, and expires codes after an hour', async () => {
    // answer strangers every time here: the same-code check needs a second answer
    const j = await start({ JUNE_STRANGER_REPLY_INTERVAL_MS: '0' });
    const strangers = [1, 2, 3, 4].map((i) => tgUser(900 + i, `Stranger${i}`));
    for (const s of strangers) tg.pushMessage({ from: s, chat: privateChat(s), text: 'hi' });
    await tg.waitFor(() => strangers.every((s) => textsTo(s.id).length === 1), 'an answer to every stranger');
    // strangers in different chats are handled concurrently: which three win is not fixed, the count is
    const answers = strangers.map((s) => ({
      user: s,
      text: textsTo(s.id)[0]!,
      code: CODE.exec(textsTo(s.id)[0]!)?.[1],
    }));
    const withCode = answers.filter((a) => a.code !== undefined);
    const refused = answers.filter((a) => a.code === undefined);
    expect(withCode).toHaveLength(3);
    expect(new Set(withCode.map((a) => a.code)).size).toBe(3);
    expect(refused.map((a) => a.text)).toEqual([
      'Too many pairing requests are waiting right now. Please try again later.',
    ]);
    const codes = withCode.map((a) => a.code!);

    // asking again gives the same code, not a new one
    const first = withCode[0]!.user;
    tg.pushMessage({ from: first, chat: privateChat(first), text: 'hi again' });
    await tg.waitFor(() => textsTo(first.id)[1], 'the second answer');
    expect(CODE.exec(textsTo(first.id)[1]!)?.[1]).toBe(codes[0]);

    const pending = j.runtime.access.pending('telegram');
    expect(pending.map((p) => p.code).sort()).toEqual([...codes].sort());
    for (const p of pending) expect(p.expiresAt - p.createdAt).toBe(PAIRING_TTL_MS);
    // an hour later (the same database, a clock moved forward) no code can be approved any more
    const db = openChannelDb(channelDbFile(j.config.dataDir));
    try {
      const later = new AccessControl(db, [], () => Date.now() + PAIRING_TTL_MS + 1);
      expect(later.pending('telegram')).toEqual([]);
      expect(later.approve('telegram', codes[1]!)).toBeUndefined();
      expect(later.isAllowed('telegram', String(withCode[1]!.user.id))).toBe(false);
    } finally {
      db.close();
    }
    expect(llm.requests).toEqual([]);
  });

  it('strangers holding every pending slot cannot lock the owner out: the setup code pairs the owner', async () => {
    const j = await start();
    const strangers = [1, 2, 3].map((i) => tgUser(800 + i, `Squatter${i}`));
    for (const s of strangers) tg.pushMessage({ from: s, chat: privateChat(s), text: 'let me in' });
    await tg.waitFor(() => strangers.every((s) => textsTo(s.id).length === 1), 'a code for every stranger');
    expect(j.runtime.access.pending('telegram')).toHaveLength(3);

    // the owner, not paired yet, asks the CLI for the setup code and sends it to the bot
    const setup = await juneCli(['pairing', 'setup-code'], j.config.dataDir);
    expect(setup.stderr).toBe('');
    const code = setup.stdout.trim();
    expect(code).toMatch(/^[A-HJ-NP-Z2-9]{12}$/);
    const olive = tgUser(555, 'Olive');
    tg.pushMessage({ from: olive, chat: privateChat(olive), text: `/start ${code}` });
    await tg.waitFor(() => textsTo(olive.id)[0], 'the welcome');
    expect(textsTo(olive.id)[0]).toMatch(/^Welcome! You're my owner now/);
    expect(j.runtime.access.roleOf('telegram', String(olive.id))).toBe('owner');
    tg.pushMessage({ from: olive, chat: privateChat(olive), text: 'good morning' });
    await tg.waitFor(() => textsTo(olive.id)[1], 'the first answer');
    expect(textsTo(olive.id)[1]).toBe(echoAnswer('good morning'));

    // the code worked once: nobody else becomes owner with it, and the CLI says there is none any more
    const intruder = tgUser(556, 'Intruder');
    tg.pushMessage({ from: intruder, chat: privateChat(intruder), text: code });
    await tg.waitFor(() => textsTo(intruder.id)[0], 'the answer to the intruder');
    expect(textsTo(intruder.id)[0]).toBe(
      'Too many pairing requests are waiting right now. Please try again later.',
    );
    expect(j.runtime.access.isAllowed('telegram', String(intruder.id))).toBe(false);
    expect((await juneCli(['pairing', 'setup-code'], j.config.dataDir)).code).not.toBe(0);

    // the owner drops one code and then the rest; a stranger asking again within the interval hears nothing
    const [first, ...rest] = j.runtime.access.pending('telegram');
    const denied = await juneCli(['pairing', 'deny', first!.code], j.config.dataDir);
    expect(denied).toMatchObject({ code: 0, stdout: `denied ${first!.userName} on telegram\n` });
    const cleared = await juneCli(['pairing', 'clear'], j.config.dataDir);
    expect(cleared).toMatchObject({ code: 0, stdout: `dropped ${rest.length} pending codes\n` });
    expect(j.runtime.access.pending()).toEqual([]);
    const squatter = strangers[0]!;
    tg.pushMessage({ from: squatter, chat: privateChat(squatter), text: 'let me in, again' });
    await tg.waitFor(() => tg.pendingUpdates().length === 0, 'all updates confirmed');
    expect(textsTo(squatter.id)).toHaveLength(1);
    expect(j.runtime.access.pending()).toEqual([]);
    expect(llm.chatRequests()).toHaveLength(1);
  });

  it('in groups, answers only in allowed groups and only when mentioned or replied to', async () => {
    const ada = tgUser(4242, 'Ada');
    const eve = tgUser(6666, 'Eve');
    const allowed = groupChat(11, 'Allowed');
    const other = groupChat(22, 'Other');
    const j = await start({
      JUNE_ALLOW_USERS: `telegram:${ada.id}`,
      JUNE_ALLOW_GROUPS: `telegram:${allowed.id}`,
    });
    const mention = (text: string) => ({
      text,
      entities: [{ type: 'mention', offset: text.indexOf('@'), length: '@JuneTestBot'.length }],
    });
    const ignored = [
      tg.pushMessage({ from: ada, chat: other, ...mention('@JuneTestBot hello from elsewhere') }),
      tg.pushMessage({ from: ada, chat: allowed, text: 'just chatting with friends' }),
      tg.pushMessage({
        from: ada,
        chat: allowed,
        text: 'replying to a friend',
        reply_to_message: { message_id: 5, date: 1, chat: allowed, from: eve, text: 'hi' },
      }),
      tg.pushMessage({ from: eve, chat: allowed, ...mention('@JuneTestBot let me in') }),
    ];
    const asked = tg.pushMessage({ from: ada, chat: allowed, ...mention('@JuneTestBot what time is it') });
    await tg.waitFor(() => textsTo(allowed.id)[0], 'the answer to the mention');
    const replied = tg.pushMessage({
      from: ada,
      chat: allowed,
      text: 'and tomorrow',
      reply_to_message: { message_id: 3, date: 1, chat: allowed, from: tg.bot, text: 'earlier answer' },
    });
    await tg.waitFor(() => textsTo(allowed.id)[1], 'the answer to the reply');
    // every update was handled and confirmed to Telegram before we look at what did not happen
    await tg.waitFor(() => tg.pendingUpdates().length === 0, 'all updates confirmed');

    expect(textsTo(allowed.id)).toEqual([echoAnswer('what time is it'), echoAnswer('and tomorrow')]);
    const replyIds = tg
      .sent('sendMessage')
      .filter((c) => String(c.params.chat_id) === String(allowed.id))
      .map((c) => (c.params.reply_parameters as { message_id: number }).message_id);
    expect(replyIds).toEqual([asked.messageId, replied.messageId]);
    expect(textsTo(other.id)).toEqual([]);
    expect(tg.sent('sendMessage').some((c) => /pairing code/.test(String(c.params.text)))).toBe(false);
    // the @mention is not part of what the LLM is asked
    const asks = llm.chatRequests().map((r) => r.body!.messages!.at(-1)!.content);
    expect(asks).toEqual(['what time is it', 'and tomorrow']);
    const tasks = await eventually(async () => {
      const ts = await j.tasks();
      return ts.every((t) => t.state === 'completed') && ts;
    }, 'the tasks to complete');
    expect(tasks).toHaveLength(2);
    expect(
      ignored.every(
        (m) => !tasks.some((t) => JSON.stringify(t.payload).includes(`"messageId":"${m.messageId}"`)),
      ),
    ).toBe(true);
  });
});
