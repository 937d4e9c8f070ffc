/**
 * A Telegram update whose intake fails every time must not hold its chat up, and must not be lost. The
 * failure here is a real database error for one update: a trigger in tasks.db refuses to store the turn
 * of one message (as a corrupt page or a failing constraint would), while every other message is stored.
 * After `inboundMaxAttempts` tries the update is parked as a `channel.inbound` task, the chat's next
 * message is answered, the parked task ends in the dead-letter queue with a notice to the user, and once
 * the database is fixed `june tasks dlq redrive` (the real CLI) takes the message in and answers it.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_INBOUND_KIND, INBOUND_DEAD_NOTICE } from '../../src/channels/inbound-task.js';
import { createLogger } from '../../src/observability/logger.js';
import { PocketsphinxSpeechToText } from '../../src/providers/stt/pocketsphinx.js';
import { EspeakTextToSpeech } from '../../src/providers/tts/espeak.js';
import { sqliteQueueFile } from '../../src/tasks/open-queue.js';
import { eventually } from '../../src/tasks/testing/eventually.js';
import { echoAnswer, startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import {
  privateChat,
  startFakeTelegramServer,
  tgUser,
  type FakeTelegramServer,
} from '../helpers/fake-telegram-server.js';
import { execJune } from '../helpers/june-cli.js';
import { startJune, type JuneUnderTest } from '../helpers/telegram-june.js';

const logger = createLogger('silent');
const POISON = 'this one the database refuses';

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

const textsTo = (chatId: number) =>
  tg
    .sent('sendMessage')
    .filter((c) => String(c.params.chat_id) === String(chatId))
    .map((c) => String(c.params.text));

describe('a Telegram update that fails every time', () => {
  it('is parked after inboundMaxAttempts, its chat goes on, the user is told, and a redrive answers it', async () => {
    const ada = tgUser(4242, 'Ada');
    const bea = tgUser(4343, 'Bea');
    june = await startJune({
      telegram: tg,
      llm,
      engines: { stt, tts: new EspeakTextToSpeech({ logger }) },
      env: {
        JUNE_ALLOW_USERS: `telegram:${ada.id},telegram:${bea.id}`,
        JUNE_INBOUND_MAX_ATTEMPTS: '2',
        JUNE_TASK_MAX_ATTEMPTS: '2',
      },
    });
    const db = new Database(sqliteQueueFile(june.config));
    db.exec(`CREATE TRIGGER refuse_one BEFORE INSERT ON tasks
             WHEN NEW.kind = 'channel.text' AND NEW.payload LIKE '%${POISON}%'
             BEGIN SELECT RAISE(ABORT, 'database disk image is malformed'); END`);

    const poisoned = tg.pushMessage({ from: ada, chat: privateChat(ada), text: POISON });
    tg.pushMessage({ from: ada, chat: privateChat(ada), text: 'and after that?' });
    tg.pushMessage({ from: bea, chat: privateChat(bea), text: 'hello from elsewhere' });

    // the chat goes on: the message after the refused one is answered, and the other chat too
    await tg.waitFor(() => textsTo(ada.id).includes(echoAnswer('and after that?')), 'the next answer');
    await tg.waitFor(() => textsTo(bea.id)[0], 'the other chat');
    expect(textsTo(bea.id)).toEqual([echoAnswer('hello from elsewhere')]);
    // every update is confirmed to Telegram: the offset moved past the refused one
    await tg.waitFor(() => tg.pendingUpdates().length === 0, 'all updates confirmed');

    // the refused update is a dead task now, and Ada was told that her message is kept
    const dead = await eventually(async () => {
      const d = await june!.queue.listDead();
      return d.length === 1 && d;
    }, 'the parked update in the dead-letter queue');
    expect(dead[0]).toMatchObject({ kind: CHANNEL_INBOUND_KIND, attempts: 2 });
    expect(dead[0]!.error?.message).toMatch(/database disk image is malformed/);
    await tg.waitFor(() => textsTo(ada.id).includes(INBOUND_DEAD_NOTICE), 'the notice');
    const notice = tg.sent('sendMessage').find((c) => c.params.text === INBOUND_DEAD_NOTICE)!;
    expect(notice.params.reply_parameters).toMatchObject({ message_id: poisoned.messageId });
    expect(llm.chatRequests().map((r) => r.body!.messages!.at(-1)!.content)).not.toContain(POISON);

    // the database is repaired; the owner redrives the dead letter with the CLI and Ada gets her answer
    db.exec('DROP TRIGGER refuse_one');
    db.close();
    const redrive = await execJune(['tasks', 'dlq', 'redrive', dead[0]!.id], {
      cwd: path.dirname(june.config.dataDir),
      env: {
        PATH: process.env.PATH,
        HOME: path.dirname(june.config.dataDir),
        JUNE_DATA_DIR: june.config.dataDir,
      },
    });
    expect(redrive.stderr).toBe('');
    expect(redrive).toMatchObject({ code: 0, stdout: 'redriven: 1\n' });
    await tg.waitFor(() => textsTo(ada.id).includes(echoAnswer(POISON)), 'the answer after the redrive');
    const parked = await eventually(async () => {
      const t = (await june!.queue.get(dead[0]!.id))?.task;
      return t?.state === 'completed' && t;
    }, 'the parked task to complete');
    expect(parked.result).toMatchObject({ outcome: 'accepted' });
    // the tries of the refused message were not counted against Ada's rate limit
    expect(textsTo(ada.id).filter((t) => /faster than I can answer/.test(t))).toEqual([]);
    // each message was answered once
    expect(textsTo(ada.id).filter((t) => t === echoAnswer(POISON))).toHaveLength(1);
    expect(textsTo(ada.id).filter((t) => t === echoAnswer('and after that?'))).toHaveLength(1);
  });
});
