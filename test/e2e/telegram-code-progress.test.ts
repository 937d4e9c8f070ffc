/**
 * A coding run seen from a Telegram chat, end to end (the fake Bot API server, June's real gateway, SQLite
 * queue and workers, the coding agent driven by the scripted OpenAI-compatible server, real bubblewrap,
 * pocketsphinx and espeak-ng):
 *   - one status message, edited through the steps (editMessageText) and ending on the final state;
 *   - /cancel stops a running run, and says when there is nothing to cancel;
 *   - the chat model delegates work itself (delegate_coding_task) from a plain message, and from a voice
 *     note, whose run answers with a voice note too;
 *   - the run's outcome is kept in the chat's conversation, so the next turn's model request carries it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../src/tasks/testing/eventually.js';
import { DELEGATE_TOOL_NAME, DELEGATED_TEXT } from '../../src/channels/code-tasks.js';
import { createLogger } from '../../src/observability/logger.js';
import { PocketsphinxSpeechToText } from '../../src/providers/stt/pocketsphinx.js';
import { EspeakTextToSpeech } from '../../src/providers/tts/espeak.js';
import { checkBubblewrap } from '../../src/sandbox/factory.js';
import { nativeCalls } from '../helpers/fake-agent-scripts.js';
import { scenarios } from '../helpers/fake-openai-scenarios.js';
import {
  startFakeOpenAiServer,
  type FakeOpenAiServer,
  type ScriptedResponse,
} from '../helpers/fake-openai-server.js';
import {
  privateChat,
  startFakeTelegramServer,
  tgUser,
  type FakeTelegramServer,
} from '../helpers/fake-telegram-server.js';
import { ffprobeBuffer, makeTempDir, spokenVoiceNote } from '../helpers/speech-fixtures.js';
import { startJune, type JuneUnderTest } from '../helpers/telegram-june.js';

const bwrap = await checkBubblewrap();
const logger = createLogger('silent');
const ada = tgUser(6161, 'Ada', 'ada');
const adaChat = privateChat(ada);

let tg: FakeTelegramServer;
let llm: FakeOpenAiServer;
let stt: PocketsphinxSpeechToText;
let tts: EspeakTextToSpeech;
let june: JuneUnderTest | undefined;
let question: Buffer;
let dir: string;

beforeAll(async () => {
  tg = await startFakeTelegramServer();
  llm = await startFakeOpenAiServer();
  stt = new PocketsphinxSpeechToText({ logger });
  tts = new EspeakTextToSpeech({ logger });
  dir = await makeTempDir('june-code-voice-');
  question = await spokenVoiceNote(dir, 'write me a script that says hi');
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
const edits = () =>
  tg
    .calls('editMessageText')
    .filter((c) => c.status === 200)
    .map((c) => ({ id: String(c.params.message_id), text: String(c.params.text) }));
const codeTasks = async () => (await june!.tasks()).filter((t) => t.kind === 'agent.code');

/**
 * The coding task once it has reached `state`. The chat shows the final state before the worker hands
 * the result back to the queue, so the record may lag the chat by a moment; wait for it, whatever the load.
 */
const codeTaskIn = (state: string) =>
  eventually(
    async () => (await codeTasks()).find((t) => t.state === state),
    `the coding task to be ${state}`,
    60_000,
  );

/** A scripted reply that waits until `gate` settles before it starts. */
function after(gate: Promise<unknown>, reply: ScriptedResponse): ScriptedResponse {
  return { ...reply, stream: [{ hold: gate }, ...(reply.stream ?? [])] };
}

/** A promise and the function that settles it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const startCodeJune = (env: Record<string, string> = {}) =>
  startJune({
    telegram: tg,
    llm,
    engines: { stt, tts },
    code: true,
    env: {
      JUNE_ALLOW_USERS: `telegram:${ada.id}`,
      JUNE_SANDBOX: 'bubblewrap',
      // every step edits the status message (one edit at a time), so each step can be seen
      JUNE_AGENT_STATUS_EDIT_MS: '0',
      ...env,
    },
  });

const writeHi = () => nativeCalls([{ name: 'write_file', args: { path: 'hi.sh', content: 'echo hi\n' } }]);
const runHi = () => nativeCalls([{ name: 'execute_command', args: { command: 'sh hi.sh' } }]);
const finishHi = () => nativeCalls([{ name: 'finish', args: { summary: 'Wrote hi.sh; it prints hi.' } }]);

describe.skipIf(!bwrap.ok)('a coding run in a Telegram chat', () => {
  it('shows one status message, edited through the steps, ending on the final state', async () => {
    june = await startCodeJune();
    // each step waits until the chat shows the one before it, so every step is seen, whatever the load
    const step1Shown = gate();
    const step2Shown = gate();
    llm.enqueue(writeHi(), after(step1Shown.promise, runHi()), after(step2Shown.promise, finishHi()));

    tg.pushMessage({ from: ada, chat: adaChat, text: '/code write a script that prints hi' });
    const status = await tg.waitFor(
      () => tg.sent('sendMessage').find((c) => String(c.params.text).startsWith('Coding task: ')),
      'the status message',
    );
    expect(String(status.params.text)).toBe('Coding task: starting…');
    await tg.waitFor(() => edits().some((e) => /^Coding task: step 1: /.test(e.text)), 'step 1 shown');
    step1Shown.open();
    await tg.waitFor(() => edits().some((e) => /^Coding task: step 2: /.test(e.text)), 'step 2 shown');
    step2Shown.open();
    await tg.waitFor(() => tg.sent('sendDocument')[0], 'the diff document');
    await tg.waitFor(() => edits().at(-1)?.text === 'Coding task: done after 3 steps.', 'the final state');

    // all edits went to one message, the status message; the steps came in order
    const ids = new Set(edits().map((e) => e.id));
    expect(ids.size).toBe(1);
    const texts = edits().map((e) => e.text);
    const stepOf = (t: string) => Number(/step (\d+):/.exec(t)?.[1] ?? Infinity);
    expect(texts.map(stepOf)).toEqual([...texts.map(stepOf)].sort((a, b) => a - b));
    expect(texts).toContain('Coding task: step 2: running: sh hi.sh');
    expect(sentTexts().filter((t) => t.startsWith('Coding task: '))).toHaveLength(1);
    expect(sentTexts()).toContain('Done after 3 steps.\nWrote hi.sh; it prints hi.');
    const task = await codeTaskIn('completed');
    expect(task).toMatchObject({ state: 'completed' });
  });

  it('/cancel stops the running coding task; with none running there is nothing to cancel', async () => {
    june = await startCodeJune();
    tg.pushMessage({ from: ada, chat: adaChat, text: '/cancel' });
    await tg.waitFor(() => sentTexts().includes('Nothing to cancel.'), 'the nothing-to-cancel answer');

    // the second model reply never comes: the run is stuck until it is cancelled
    llm.enqueue(writeHi(), scenarios.stallBeforeFirstToken());
    tg.pushMessage({ from: ada, chat: adaChat, text: '/code write a script that prints hi' });
    await tg.waitFor(() => edits().some((e) => /^Coding task: step 2: /.test(e.text)), 'the run at step 2');
    const [running] = await codeTasks();
    expect(running).toMatchObject({ state: 'active' });

    tg.pushMessage({ from: ada, chat: adaChat, text: '/cancel' });
    await tg.waitFor(() => sentTexts().includes('Cancelled the coding task.'), 'the cancel answer');
    await tg.waitFor(
      () => edits().some((e) => e.text.startsWith('Coding task: cancelled')),
      'the status message saying cancelled',
      60_000,
    );
    const cancelled = await codeTaskIn('cancelled');
    expect(cancelled.state).toBe('cancelled');
    // no summary, no diff for a cancelled run
    expect(tg.sent('sendDocument')).toEqual([]);
    expect(sentTexts().some((t) => t.startsWith('Done after'))).toBe(false);
    // the conversation keeps that the run was cancelled (the handler goes on a moment after the task ends)
    const ref = { channel: 'telegram', chatId: String(adaChat.id), userId: String(ada.id) };
    const kept = await eventually(
      async () =>
        june!.runtime.conversations
          .history(ref, 3000, 10)
          .at(-1)
          ?.content.match(/cancelled/i)?.input,
      'the cancelled run in the conversation',
      30_000,
    );
    expect(kept).toMatch(/^Coding task: write a script that prints hi\n/);
  });

  it('the chat model delegates a plain message to the coding agent, and the run replies to the chat', async () => {
    june = await startCodeJune();
    llm.enqueue(
      nativeCalls([{ name: DELEGATE_TOOL_NAME, args: { task: 'write hi.sh that prints hi' } }]),
      writeHi(),
      runHi(),
      finishHi(),
    );
    tg.pushMessage({ from: ada, chat: adaChat, text: 'Could you write me a shell script that prints hi?' });
    await tg.waitFor(() => sentTexts().includes(DELEGATED_TEXT), 'the acknowledgement');
    const doc = await tg.waitFor(() => tg.sent('sendDocument')[0], 'the diff document');
    expect(doc.files.document!.data.toString()).toContain('+echo hi');
    await tg.waitFor(
      () => sentTexts().includes('Done after 3 steps.\nWrote hi.sh; it prints hi.'),
      'the summary',
    );

    // the chat turn offered the tool; the coding run got the task the model wrote
    const [turn] = llm.chatRequests();
    expect(turn!.body?.tools?.map((t) => t.function.name)).toEqual([DELEGATE_TOOL_NAME]);
    const task = await codeTaskIn('completed');
    expect(task).toMatchObject({ state: 'completed', capability: 'code' });
    expect(task.payload).toMatchObject({
      task: 'write hi.sh that prints hi',
      reply: { channel: 'telegram', chatId: String(adaChat.id) },
    });
    expect((task.payload as { spoke?: boolean }).spoke).toBeUndefined();
    // the conversation keeps the acknowledgement as the turn's answer, then the run's outcome
    const history = june.runtime.conversations.history(
      { channel: 'telegram', chatId: String(adaChat.id), userId: String(ada.id) },
      3000,
      10,
    );
    expect(history.map((m) => m.role)).toEqual(['user', 'assistant', 'assistant']);
    expect(history[1]).toEqual({ role: 'assistant', content: DELEGATED_TEXT });
    expect(history[2]!.content).toBe(
      'Coding task: write hi.sh that prints hi\nDone after 3 steps.\nWrote hi.sh; it prints hi.\nFiles changed: hi.sh.',
    );

    // a follow-up question: the chat model is sent what the run did (the queue is empty: the fake echoes)
    const before = llm.chatRequests().length;
    tg.pushMessage({ from: ada, chat: adaChat, text: 'What did the script do?' });
    const followUp = await tg.waitFor(
      () =>
        llm
          .chatRequests()
          .slice(before)
          .find((r) => JSON.stringify(r.body?.messages).includes('script do')),
      'the follow-up turn',
      60_000,
    );
    const sent = followUp.body!.messages!.map((m) => ({ role: m.role, content: String(m.content) }));
    const outcome = sent.findIndex(
      (m) => m.role === 'assistant' && m.content.includes('Wrote hi.sh; it prints hi.'),
    );
    expect(outcome).toBeGreaterThan(0);
    expect(sent[outcome]!.content).toContain('Files changed: hi.sh.');
    // the outcome comes after the delegating turn and before the follow-up question
    expect(sent.findIndex((m) => m.content === DELEGATED_TEXT)).toBeLessThan(outcome);
    expect(sent.at(-1)).toEqual({ role: 'user', content: 'What did the script do?' });
  });

  it('a /code run is kept in the conversation: its request and outcome reach the next turn', async () => {
    june = await startCodeJune();
    llm.enqueue(writeHi(), runHi(), finishHi());
    tg.pushMessage({ from: ada, chat: adaChat, text: '/code write a script that prints hi' });
    await tg.waitFor(
      () => sentTexts().includes('Done after 3 steps.\nWrote hi.sh; it prints hi.'),
      'the summary',
      60_000,
    );
    const before = llm.chatRequests().length;
    tg.pushMessage({ from: ada, chat: adaChat, text: 'Which file did you write?' });
    const followUp = await tg.waitFor(
      () =>
        llm
          .chatRequests()
          .slice(before)
          .find((r) => JSON.stringify(r.body?.messages).includes('Which file')),
      'the follow-up turn',
      60_000,
    );
    const sent = followUp.body!.messages!.filter((m) => m.role !== 'system');
    expect(sent.map((m) => [m.role, String(m.content)])).toEqual([
      ['user', '/code write a script that prints hi'],
      [
        'assistant',
        'Coding task: write a script that prints hi\nDone after 3 steps.\nWrote hi.sh; it prints hi.\nFiles changed: hi.sh.',
      ],
      ['user', 'Which file did you write?'],
    ]);
  });

  it('a voice note delegated to the coding agent gets its summary back as a voice note', async () => {
    june = await startCodeJune();
    llm.enqueue(
      nativeCalls([{ name: DELEGATE_TOOL_NAME, args: { task: 'write hi.sh that prints hi' } }]),
      writeHi(),
      runHi(),
      finishHi(),
    );
    tg.sendVoiceNote(ada, adaChat, question);
    const summary = await tg.waitFor(
      () =>
        tg.sent('sendVoice').find((c) => String(c.params.caption ?? '').startsWith('Done after 3 steps.')),
      'the spoken summary',
      60_000,
    );
    expect(String(summary.params.caption)).toBe('Done after 3 steps.\nWrote hi.sh; it prints hi.');
    const probe = await ffprobeBuffer(dir, summary.files.voice!.data, 'summary.ogg');
    expect(probe.codec).toBe('opus');
    expect(probe.duration).toBeGreaterThan(0.5);
    // the turn itself answered by voice with the acknowledgement, and the diff came as a document
    expect(tg.sent('sendVoice').some((c) => c.params.caption === DELEGATED_TEXT)).toBe(true);
    await tg.waitFor(() => tg.sent('sendDocument')[0], 'the diff document');
    const [task] = await codeTasks();
    expect(task!.payload).toMatchObject({ spoke: true, task: 'write hi.sh that prints hi' });
  });
});
