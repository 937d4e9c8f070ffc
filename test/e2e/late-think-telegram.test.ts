/**
 * Telegram against a Qwen3-Thinking-2507 served without a reasoning parser, under three names: the voice
 * note says only the answer, its caption is only the answer, and the next turn's history holds only the
 * answer, from a model June now knows to think.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { PocketsphinxSpeechToText } from '../../src/providers/stt/pocketsphinx.js';
import { EspeakTextToSpeech } from '../../src/providers/tts/espeak.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { LATE_ANSWER, LATE_THOUGHT, scenarios } from '../helpers/fake-openai-scenarios.js';
import {
  privateChat,
  startFakeTelegramServer,
  tgUser,
  type FakeTelegramServer,
} from '../helpers/fake-telegram-server.js';
import { SERVED_NAMES, expectAnswerOnly, spokenLengths, type SpokenLengths } from '../helpers/late-think.js';
import { ffprobeBuffer } from '../helpers/speech-fixtures.js';
import { startJune, type JuneUnderTest } from '../helpers/telegram-june.js';

const logger = createLogger('silent');
const ada = tgUser(4343, 'Ada', 'ada');
const adaChat = privateChat(ada);

let tg: FakeTelegramServer;
let llm: FakeOpenAiServer;
let stt: PocketsphinxSpeechToText;
let tts: EspeakTextToSpeech;
let lengths: SpokenLengths;
let june: JuneUnderTest | undefined;

beforeAll(async () => {
  tg = await startFakeTelegramServer();
  llm = await startFakeOpenAiServer({ models: SERVED_NAMES });
  stt = new PocketsphinxSpeechToText({ logger });
  tts = new EspeakTextToSpeech({ logger });
  lengths = await spokenLengths();
});

afterAll(async () => {
  await stt?.close();
  await tts?.close();
  await tg?.close();
  await llm?.close();
});

afterEach(async () => {
  await june?.stop();
  june = undefined;
  tg.reset();
  llm.reset();
});

describe.each(SERVED_NAMES)('Telegram with the model served as %s', (name) => {
  it('captions and speaks only the answer, and sends only the answer as history', async () => {
    june = await startJune({
      telegram: tg,
      llm,
      engines: { stt, tts },
      env: { JUNE_ALLOW_USERS: `telegram:${ada.id}`, JUNE_LLM_MODEL: name, JUNE_VOICE_REPLIES: 'always' },
    });
    llm.enqueue(scenarios.lateCloseThought(name), scenarios.lateCloseThought(name));

    tg.pushMessage({ from: ada, chat: adaChat, text: 'what is the capital of France' });
    const reply = await tg.waitFor(() => tg.sent('sendVoice')[0], 'the voice reply');
    expect(reply.params.caption).toBe(LATE_ANSWER);
    const probe = await ffprobeBuffer(june.dir, reply.files.voice!.data, 'late.ogg');
    expectAnswerOnly(probe.duration, lengths);

    tg.pushMessage({ from: ada, chat: adaChat, text: 'and of Italy' });
    const second = await tg.waitFor(() => tg.sent('sendVoice')[1], 'the second voice reply');
    expect(second.params.caption).toBe(LATE_ANSWER);
    const history = llm.chatRequests().at(-1)!.body!.messages!;
    expect(history.filter((m) => m.role === 'assistant').map((m) => m.content)).toEqual([LATE_ANSWER]);
    expect(JSON.stringify(history)).not.toContain(LATE_THOUGHT.slice(0, 30));
    // nothing went out as a text message: the caption carried the answer
    expect(tg.sent('sendMessage')).toEqual([]);
  });
});
