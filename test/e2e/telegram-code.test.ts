/**
 * `/code TASK` on Telegram end to end: the fake Bot API server, June's real gateway, SQLite queue and
 * workers, the coding agent driven by the scripted OpenAI-compatible server, commands run in real
 * bubblewrap; the summary comes back as a message and the diff as a multipart sendDocument.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../src/tasks/testing/eventually.js';
import { createLogger } from '../../src/observability/logger.js';
import { PocketsphinxSpeechToText } from '../../src/providers/stt/pocketsphinx.js';
import { EspeakTextToSpeech } from '../../src/providers/tts/espeak.js';
import { checkBubblewrap } from '../../src/sandbox/factory.js';
import { nativeCalls } from '../helpers/fake-agent-scripts.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import {
  privateChat,
  startFakeTelegramServer,
  tgUser,
  type FakeTelegramServer,
} from '../helpers/fake-telegram-server.js';
import { startJune, type JuneUnderTest } from '../helpers/telegram-june.js';

const bwrap = await checkBubblewrap();
const logger = createLogger('silent');
const ada = tgUser(5151, 'Ada', 'ada');
const adaChat = privateChat(ada);

let tg: FakeTelegramServer;
let llm: FakeOpenAiServer;
let stt: PocketsphinxSpeechToText;
let tts: EspeakTextToSpeech;
let june: JuneUnderTest | undefined;

beforeAll(async () => {
  tg = await startFakeTelegramServer();
  llm = await startFakeOpenAiServer();
  stt = new PocketsphinxSpeechToText({ logger });
  tts = new EspeakTextToSpeech({ logger });
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

const sentTexts = () => tg.sent('sendMessage').map((c) => String(c.params.text));

describe.skipIf(!bwrap.ok)('/code on Telegram', () => {
  it('runs the task in the sandbox and sends the summary and the diff as a document', async () => {
    june = await startJune({
      telegram: tg,
      llm,
      engines: { stt, tts },
      code: true,
      env: { JUNE_ALLOW_USERS: `telegram:${ada.id}`, JUNE_SANDBOX: 'bubblewrap' },
    });
    llm.enqueue(
      nativeCalls([{ name: 'write_file', args: { path: 'hi.sh', content: 'echo hi\n' } }]),
      nativeCalls([{ name: 'execute_command', args: { command: 'sh hi.sh' } }]),
      nativeCalls([{ name: 'finish', args: { summary: 'Wrote hi.sh; it prints hi.' } }]),
    );

    tg.pushMessage({ from: ada, chat: adaChat, text: '/code write a script that prints hi' });
    await tg.waitFor(() => sentTexts().find((t) => t.startsWith('On it (task ')), 'the acknowledgement');
    const doc = await tg.waitFor(() => tg.sent('sendDocument')[0], 'the diff document');
    expect(doc.files.document!.filename).toMatch(/\.diff$/);
    expect(doc.files.document!.data.toString()).toContain('+echo hi');
    expect(String(doc.params.chat_id)).toBe(String(adaChat.id));
    expect(sentTexts()).toContain('Done after 3 steps.\nWrote hi.sh; it prints hi.');

    // the chat has the summary before the worker hands the result to the queue: wait for the record
    const task = await eventually(
      async () => (await june!.tasks()).find((t) => t.kind === 'agent.code' && t.state === 'completed'),
      'the coding task to complete',
      60_000,
    );
    expect(task).toMatchObject({ state: 'completed', capability: 'code' });
    expect((task.payload as { task: string }).task).toBe('write a script that prints hi');
  });

  it('says so when no worker serves code, and an empty /code asks for the task', async () => {
    june = await startJune({
      telegram: tg,
      llm,
      engines: { stt, tts },
      env: { JUNE_ALLOW_USERS: `telegram:${ada.id}` },
    });
    tg.pushMessage({ from: ada, chat: adaChat, text: '/code' });
    await tg.waitFor(() => sentTexts().find((t) => t.includes('after /code')), 'the empty-task answer');
    tg.pushMessage({ from: ada, chat: adaChat, text: '/code write hello.py' });
    await tg.waitFor(
      () => sentTexts().find((t) => t.includes('No worker here can run coding tasks')),
      'the answer',
    );
    expect((await june.tasks()).filter((t) => t.kind === 'agent.code')).toEqual([]);
    expect(llm.chatRequests()).toEqual([]);
  });
});
