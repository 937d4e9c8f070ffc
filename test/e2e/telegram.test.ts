/**
 * Telegram end to end, in-process: a fake Bot API server speaking real HTTP, June's own queue, gateway,
 * Telegram adapter, workers and a voice pipeline on real engines (pocketsphinx, an OpenAI-compatible LLM
 * server on loopback, espeak-ng). What a Telegram user sends goes in as updates; what June sends back is
 * read from the fake server's record of sendMessage / sendVoice / sendChatAction calls.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { wordErrorRate } from '../../src/eval/wer.js';
import { eventually } from '../../src/tasks/testing/eventually.js';
import { createLogger } from '../../src/observability/logger.js';
import { PocketsphinxSpeechToText } from '../../src/providers/stt/pocketsphinx.js';
import { EspeakTextToSpeech } from '../../src/providers/tts/espeak.js';
import { echoAnswer, startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { streamOf } from '../helpers/fake-openai-scenarios.js';
import {
  privateChat,
  startFakeTelegramServer,
  tgUser,
  type FakeTelegramServer,
  type RecordedCall,
} from '../helpers/fake-telegram-server.js';
import { ffprobeBuffer, makeTempDir, spokenVoiceNote } from '../helpers/speech-fixtures.js';
import { decodeWithFfmpeg, startJune, type JuneUnderTest } from '../helpers/telegram-june.js';

const logger = createLogger('silent');
const ada = tgUser(4242, 'Ada', 'ada');
const adaChat = privateChat(ada);
const QUESTION = 'what is the weather like in paris today';

let tg: FakeTelegramServer;
let llm: FakeOpenAiServer;
let stt: PocketsphinxSpeechToText;
let tts: EspeakTextToSpeech;
let dir: string;
let question: Buffer;
let june: JuneUnderTest | undefined;

beforeAll(async () => {
  dir = await makeTempDir('june-tg-e2e-');
  tg = await startFakeTelegramServer();
  llm = await startFakeOpenAiServer({ echo: { tokenDelayMs: 2 } });
  stt = new PocketsphinxSpeechToText({ logger });
  tts = new EspeakTextToSpeech({ logger });
  await stt.load();
  question = await spokenVoiceNote(dir, QUESTION);
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
    engines: { stt, tts },
    env: { JUNE_ALLOW_USERS: `telegram:${ada.id}`, ...env },
  });
  return june;
};

const textsTo = (chatId: number) =>
  tg
    .sent('sendMessage')
    .filter((c) => String(c.params.chat_id) === String(chatId))
    .map((c) => String(c.params.text));

/** Waits for the n-th (1-based) successful call of a method, and returns it. */
const nth = (method: string, n: number, what = `${method} #${n}`) =>
  tg.waitFor(() => tg.sent(method)[n - 1], what);

/** The user message of the newest LLM request. */
const lastUserMessage = () => {
  const messages = llm.chatRequests().at(-1)?.body?.messages ?? [];
  return String(messages.at(-1)?.content ?? '');
};

describe('Telegram end to end', () => {
  it('answers a voice note with a voice note that says the answer, captioned with its text', async () => {
    await start();
    const { messageId } = tg.sendVoiceNote(ada, adaChat, question);
    const reply: RecordedCall = await nth('sendVoice', 1, 'the voice reply');

    // the voice note went to Ada's chat, as a reply to her message
    expect(String(reply.params.chat_id)).toBe(String(adaChat.id));
    expect(reply.params.reply_parameters).toMatchObject({ message_id: messageId });
    // the LLM heard the question, and the caption is exactly its answer
    const heardQuestion = lastUserMessage();
    expect(heardQuestion).toMatch(/^what is the weather like/);
    expect(reply.params.caption).toBe(echoAnswer(heardQuestion));
    // a real OGG/Opus voice note, with its whole-second duration
    const audio = reply.files.voice!.data;
    const probe = await ffprobeBuffer(dir, audio, 'reply.ogg');
    expect(probe).toMatchObject({ codec: 'opus', format: 'ogg', channels: 1 });
    expect(Number(reply.params.duration)).toBe(Math.max(1, Math.round(probe.duration)));
    // that says the answer: ffmpeg decodes it and pocketsphinx hears it
    const heardReply = await stt.transcribe(await decodeWithFfmpeg(audio));
    expect(wordErrorRate(String(reply.params.caption), heardReply.text).wer).toBeLessThan(0.6);
    // "recording a voice message…" was shown meanwhile, and no separate text message was needed
    expect(tg.sent('sendChatAction').map((c) => c.params.action)).toContain('record_voice');
    expect(textsTo(adaChat.id)).toEqual([]);
  });

  it('answers text with text', async () => {
    await start();
    tg.pushMessage({ from: ada, chat: adaChat, text: 'hello there' });
    await nth('sendMessage', 1);
    expect(textsTo(adaChat.id)).toEqual([echoAnswer('hello there')]);
    expect(tg.sent('sendChatAction').map((c) => c.params.action)).toContain('typing');
    expect(tg.sent('sendVoice')).toEqual([]);
  });

  it('splits a long answer at 4096 characters on sentence boundaries, losing nothing', async () => {
    await start();
    const long = Array.from(
      { length: 180 },
      (_, i) => `Sentence number ${i + 1} says something useful about the question you asked.`,
    ).join(' ');
    llm.enqueue(streamOf(long.split(/(?=\s)/).map((content) => ({ content }))));
    tg.pushMessage({ from: ada, chat: adaChat, text: 'tell me everything' });
    await tg.waitFor(() => textsTo(adaChat.id).join(' ').length >= long.length, 'every part of the answer');

    const parts = textsTo(adaChat.id);
    expect(long.length).toBeGreaterThan(2 * 4096);
    expect(parts).toHaveLength(Math.ceil(long.length / 4096));
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(4096);
      expect(p).toMatch(/^Sentence number \d+ .*asked\.$/s);
    }
    expect(parts.join(' ')).toBe(long);
  });

  it('/new starts a fresh conversation: the LLM no longer sees the earlier turns', async () => {
    await start();
    const say = async (text: string, n: number) => {
      tg.pushMessage({ from: ada, chat: adaChat, text });
      await tg.waitFor(() => textsTo(adaChat.id)[n - 1], `answer #${n}`);
    };
    await say('my name is Ada', 1);
    await say('what is my name', 2);
    const withHistory = llm
      .chatRequests()
      .at(-1)!
      .body!.messages!.map((m) => m.content);
    expect(withHistory.slice(1)).toEqual(['my name is Ada', echoAnswer('my name is Ada'), 'what is my name']);

    await say('/new', 3);
    expect(textsTo(adaChat.id)[2]).toMatch(/new conversation/i);
    const before = llm.chatRequests().length;
    await say('what is my name', 4);
    expect(llm.chatRequests()).toHaveLength(before + 1);
    const fresh = llm.chatRequests().at(-1)!.body!.messages!;
    expect(fresh.map((m) => m.role)).toEqual(['system', 'user']);
    expect(fresh[1]!.content).toBe('what is my name');
  });

  it('/voice never answers a voice note in text; /voice always answers text with a voice note', async () => {
    await start();
    tg.pushMessage({ from: ada, chat: adaChat, text: '/voice never' });
    await tg.waitFor(() => textsTo(adaChat.id)[0], 'the /voice never answer');
    expect(textsTo(adaChat.id)[0]).toBe('Voice replies: never.');
    tg.sendVoiceNote(ada, adaChat, question);
    await tg.waitFor(() => textsTo(adaChat.id)[1], 'the text answer to the voice note');
    expect(textsTo(adaChat.id)[1]).toBe(echoAnswer(lastUserMessage()));
    expect(tg.sent('sendVoice')).toEqual([]);

    tg.pushMessage({ from: ada, chat: adaChat, text: '/voice always' });
    await tg.waitFor(() => textsTo(adaChat.id)[2], 'the /voice always answer');
    tg.pushMessage({ from: ada, chat: adaChat, text: 'say something' });
    const voice = await nth('sendVoice', 1, 'the voice answer to text');
    expect(voice.params.caption).toBe(echoAnswer('say something'));
    expect(voice.files.voice!.data.subarray(0, 4).toString()).toBe('OggS');
    expect(textsTo(adaChat.id)).toHaveLength(3);
  });

  it('waits out a 429 (retry_after) and delivers the reply exactly once', async () => {
    const j = await start();
    tg.failNext('sendMessage', 1, { retryAfter: 1 });
    tg.pushMessage({ from: ada, chat: adaChat, text: 'are you there' });
    await nth('sendMessage', 1, 'the reply after the 429');
    await eventually(async () => (await j.tasks())[0]?.state === 'completed', 'the task to complete');

    const attempts = tg.calls('sendMessage');
    expect(attempts.map((c) => c.status)).toEqual([429, 200]);
    expect(textsTo(adaChat.id)).toEqual([echoAnswer('are you there')]);
    // the retry came after the second Telegram asked to wait (a little slack for clock granularity)
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('refuses an audio file over 20 MB with a clear sentence, without downloading it', async () => {
    const j = await start();
    tg.pushMessage({
      from: ada,
      chat: adaChat,
      document: {
        file_id: 'BQACAgQAAxkBAAIBig-lecture',
        file_unique_id: 'AgADig',
        file_name: 'lecture.mp3',
        mime_type: 'audio/mpeg',
        file_size: 25 * 1024 * 1024,
      },
    });
    await nth('sendMessage', 1, 'the refusal');
    expect(textsTo(adaChat.id)[0]).toBe(
      'That file is 25 MB, and I can only download files up to 20 MB. Please send a shorter recording.',
    );
    expect(tg.calls('getFile')).toEqual([]);
    expect(await j.tasks()).toEqual([]);
    expect(llm.chatRequests()).toEqual([]);
  });

  it('answers a voice note of random bytes with the audio error, and never calls the LLM', async () => {
    const j = await start();
    const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    tg.sendVoiceNote(ada, adaChat, junk);
    await nth('sendMessage', 1, 'the audio error');
    expect(textsTo(adaChat.id)[0]).toMatch(/^That file does not look like audio\. Please send .+\.$/);
    const [task] = await eventually(async () => {
      const ts = await j.tasks();
      return ts[0]?.state === 'dead' ? ts : undefined;
    }, 'the task to be dead-lettered');
    expect(task!.error).toMatchObject({ code: 'audio_not_audio', retryable: false });
    expect(task!.attempts).toBe(1);
    expect(llm.chatRequests()).toEqual([]);
  });
});
