/**
 * Multi-step tasks (plans) on Telegram end to end: the fake Bot API server, June's real gateway, SQLite
 * queue and workers (plan roots and chat subtasks), the planner driven by the scripted OpenAI-compatible
 * server (its make_plan call scripted; subtasks and the composed answer from the echo model):
 *   - /plan in a group → a plan over the approval cost is shown with a "Run the plan" button; another
 *     member's press is refused, a stranger's ignored; the asker's press runs it once; the status message goes through
 *     "n of 3 done" to "done"; a second press approves nothing more;
 *   - /go approves the latest plan waiting in a private chat;
 *   - a voice note whose turn calls plan_task: the plan runs without approval and its summary comes back
 *     as a voice note, with the answer as text.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PLAN_STATUS_PREFIX } from '../../src/channels/plan-status.js';
import { NOT_YOURS_TEXT, PLAN_TOOL_NAME, PLANNED_TEXT } from '../../src/channels/plan-tasks.js';
import { createLogger } from '../../src/observability/logger.js';
import { PLAN_RUN_KIND, type PlanRunPayload, type PlanRunResult } from '../../src/planner/index.js';
import { PocketsphinxSpeechToText } from '../../src/providers/stt/pocketsphinx.js';
import { EspeakTextToSpeech } from '../../src/providers/tts/espeak.js';
import { eventually } from '../../src/tasks/testing/eventually.js';
import { SUBTASK_SYSTEM_PROMPT } from '../../src/planner/model.js';
import { checkBubblewrap } from '../../src/sandbox/factory.js';
import { nativeCalls, textOnly } from '../helpers/fake-agent-scripts.js';
import {
  startFakeOpenAiServer,
  type FakeOpenAiServer,
  type RecordedBody,
} from '../helpers/fake-openai-server.js';
import {
  groupChat,
  privateChat,
  startFakeTelegramServer,
  tgUser,
  type FakeTelegramServer,
} from '../helpers/fake-telegram-server.js';
import { ffprobeBuffer, makeTempDir, spokenVoiceNote } from '../helpers/speech-fixtures.js';
import { startJune, type JuneUnderTest } from '../helpers/telegram-june.js';

const logger = createLogger('silent');
const bwrap = await checkBubblewrap();
const ada = tgUser(7171, 'Ada', 'ada');
const bob = tgUser(7272, 'Bob', 'bob');
/** In the group, but not let in to talk to June. */
const carol = tgUser(7474, 'Carol', 'carol');
const adaChat = privateChat(ada);
const group = groupChat(7373, 'Planning group');

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
  dir = await makeTempDir('june-plan-voice-');
  question = await spokenVoiceNote(dir, 'compare the two notes for me');
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

const DIAMOND = {
  goal: 'Compare two notes',
  subtasks: [
    { id: 'facts', capability: 'chat', instructions: 'List the facts in note one', needs: [] },
    { id: 'risks', capability: 'chat', instructions: 'List the risks in note two', needs: [] },
    { id: 'draft', capability: 'chat', instructions: 'Draft the comparison', needs: ['facts', 'risks'] },
  ],
};
const ONE_STEP = {
  goal: 'Compare the notes',
  subtasks: [{ id: 'compare', capability: 'chat', instructions: 'Compare the two notes', needs: [] }],
};

/** The planner's request: the one that offers the make_plan tool. */
const asksForPlan = (b: RecordedBody) => b.tools?.some((t) => t.function.name === 'make_plan') === true;
const scriptPlan = (plan: Record<string, unknown>) =>
  llm.enqueueWhen(asksForPlan, nativeCalls([{ name: 'make_plan', args: plan }]));

const texts = (chatId: number) =>
  tg
    .sent('sendMessage')
    .filter((c) => String(c.params.chat_id) === String(chatId))
    .map((c) => String(c.params.text));
const edits = () =>
  tg
    .calls('editMessageText')
    .filter((c) => c.status === 200)
    .map((c) => ({ id: String(c.params.message_id), text: String(c.params.text) }));
/** The bot's message with the approve button: its id, text and the button's callback_data. */
const planMessage = (chatId: number): { messageId: number; text: string; data: string } | undefined => {
  const m = tg.botTexts(chatId).find((t) => t.replyMarkup !== undefined);
  const keyboard = (m?.replyMarkup as { inline_keyboard?: { callback_data: string }[][] } | undefined)
    ?.inline_keyboard;
  const data = keyboard?.[0]?.[0]?.callback_data;
  return m && data ? { messageId: m.messageId, text: m.text, data } : undefined;
};

async function planTasks(): Promise<
  { id: string; payload: PlanRunPayload; state: string; result?: PlanRunResult }[]
> {
  return (await june!.tasks())
    .filter((t) => t.kind === PLAN_RUN_KIND)
    .map((t) => ({
      id: t.id,
      payload: t.payload as PlanRunPayload,
      state: t.state,
      ...(t.result ? { result: t.result as PlanRunResult } : {}),
    }));
}

const ENV = {
  JUNE_AGENT_STATUS_EDIT_MS: '0',
  JUNE_PLAN_APPROVAL_SUBTASKS: '2',
  JUNE_PLAN_APPROVAL_TOKENS: '10000000',
  JUNE_PLAN_APPROVAL_SECONDS: '1000000',
};

describe('plans on Telegram', () => {
  it('shows a big plan with a button that only the asker can press, runs it once, and edits one status message', async () => {
    june = await startJune({
      telegram: tg,
      llm,
      engines: { stt, tts },
      plan: true,
      concurrency: 4,
      env: {
        ...ENV,
        JUNE_ALLOW_USERS: `telegram:${ada.id},telegram:${bob.id}`,
        JUNE_ALLOW_GROUPS: `telegram:${group.id}`,
      },
    });
    scriptPlan(DIAMOND);
    tg.pushMessage({ from: ada, chat: group, text: '/plan@JuneTestBot compare my two notes' });
    await tg.waitFor(
      () => texts(group.id).find((t) => t.startsWith('Planning it (task ')),
      'the acknowledgement',
    );
    const shown = await tg.waitFor(() => planMessage(group.id), 'the plan with its button', 60_000);
    const text = shown.text;
    expect(text).toContain('Here is my plan for: Compare two notes');
    expect(text).toContain('1. [chat] List the facts in note one');
    expect(text).toContain('3. [chat] Draft the comparison (after 1, 2)');
    expect(text).toContain('/go');
    const [first] = await planTasks();
    expect(shown.data).toBe(`go:${first!.id}`);
    await tg.waitFor(
      () => edits().find((e) => e.text === `${PLAN_STATUS_PREFIX}waiting for your approval.`),
      'the status waiting for approval',
    );
    const planMessageId = shown.messageId;

    // Bob is in the group and allowed to talk to June, but the plan is Ada's
    const bobPress = tg.pressButton(bob, planMessageId, shown.data);
    await tg.waitFor(() => texts(group.id).find((t) => t === NOT_YOURS_TEXT), "Bob's refusal");
    await tg.waitFor(() => tg.buttonAnswered(bobPress), "Bob's press answered");
    expect((await planTasks()).length).toBe(1);

    // a stranger's press is ignored (in groups strangers get no answer), the button still stops spinning
    const repliesBefore = texts(group.id).length;
    const carolPress = tg.pressButton(carol, planMessageId, shown.data);
    await tg.waitFor(() => tg.buttonAnswered(carolPress), "Carol's press answered");
    expect(texts(group.id).length).toBe(repliesBefore);
    expect((await planTasks()).length).toBe(1);

    const adaPress = tg.pressButton(ada, planMessageId, shown.data);
    const approved = await tg.waitFor(
      () => texts(group.id).find((t) => t.startsWith('Approved: running the plan (task ')),
      'the approval',
    );
    await tg.waitFor(() => tg.buttonAnswered(adaPress), "Ada's press answered");
    const runId = /task ([^)]+)\)/.exec(approved)![1]!;
    await tg.waitFor(
      () => edits().find((e) => e.text.startsWith(`${PLAN_STATUS_PREFIX}done (3 of 3 done)`)),
      'the final status',
      90_000,
    );
    const final = await eventually(
      async () => (await planTasks()).find((t) => t.id === runId && t.state === 'completed'),
      'the approved run to complete',
      60_000,
    );
    expect(final.payload).toMatchObject({ approvedFrom: first!.id, approvedPlan: DIAMOND });
    expect(final.result).toMatchObject({ status: 'completed' });
    expect(final.result!.subtasks.map((s) => s.state)).toEqual(['completed', 'completed', 'completed']);
    // the answer went to the group as text
    expect(texts(group.id)).toContain(final.result!.answer.trim().slice(0, 4096));
    // the second status message (the run's) went through "n of 3 done" before "done"
    expect(edits().some((e) => /^Plan: [0-3] of 3 done: /.test(e.text))).toBe(true);
    // the planner was asked for a plan once: the approved run did not plan again
    expect(llm.chatRequests().filter((r) => r.body && asksForPlan(r.body)).length).toBe(1);

    // pressing again approves nothing more
    tg.pressButton(ada, planMessageId, shown.data);
    await tg.waitFor(
      () => texts(group.id).find((t) => t === `That plan is already approved (task ${runId}).`),
      'the second press answered',
    );
    expect((await planTasks()).length).toBe(2);
  });

  it('/go approves the latest plan waiting in the chat', async () => {
    june = await startJune({
      telegram: tg,
      llm,
      engines: { stt, tts },
      plan: true,
      concurrency: 4,
      env: { ...ENV, JUNE_ALLOW_USERS: `telegram:${ada.id}` },
    });
    tg.pushMessage({ from: ada, chat: adaChat, text: '/go' });
    await tg.waitFor(
      () => texts(adaChat.id).find((t) => t === 'There is no plan waiting for your approval here.'),
      'nothing to approve yet',
    );
    scriptPlan(DIAMOND);
    tg.pushMessage({ from: ada, chat: adaChat, text: '/plan compare my two notes' });
    await tg.waitFor(() => planMessage(adaChat.id), 'the plan', 60_000);
    await eventually(
      async () => (await planTasks()).find((t) => t.result?.status === 'awaiting-approval'),
      'the plan to wait for approval',
    );
    tg.pushMessage({ from: ada, chat: adaChat, text: '/go' });
    await tg.waitFor(
      () => texts(adaChat.id).find((t) => t.startsWith('Approved: running the plan')),
      'the approval',
    );
    const done = await eventually(
      async () => (await planTasks()).find((t) => t.payload.approvedFrom && t.state === 'completed'),
      'the approved run',
      90_000,
    );
    expect(done.result?.status).toBe('completed');
    await tg.waitFor(() => texts(adaChat.id).includes(done.result!.answer.trim()), 'the answer');
    // the conversation keeps the request, the plan shown and the answer, for the next turn's model
    const ref = { channel: 'telegram', chatId: String(adaChat.id), userId: String(ada.id) };
    // (kept once the answer has gone out: wait for it)
    const history = await eventually(async () => {
      const h = june!.runtime.conversations.history(ref, 100_000, 50);
      return h.length >= 3 ? h : undefined;
    }, 'the conversation to keep the answer');
    expect(history.map((m) => [m.role, m.content.split('\n')[0]])).toEqual([
      ['user', '/plan compare my two notes'],
      ['assistant', 'Here is my plan for: Compare two notes'],
      ['assistant', done.result!.answer.trim().split('\n')[0]],
    ]);
  });

  it('a voice note whose turn calls plan_task gets the plan summary back as a voice note', async () => {
    june = await startJune({
      telegram: tg,
      llm,
      engines: { stt, tts },
      plan: true,
      concurrency: 4,
      env: { ...ENV, JUNE_ALLOW_USERS: `telegram:${ada.id}` },
    });
    scriptPlan(ONE_STEP);
    // the turn's first model request calls the tool (the planner's request is matched apart)
    llm.enqueue(nativeCalls([{ name: PLAN_TOOL_NAME, args: { task: 'compare the two notes' } }]));
    tg.sendVoiceNote(ada, adaChat, question);
    const done = await eventually(
      async () => (await planTasks()).find((t) => t.state === 'completed'),
      'the plan to complete',
      90_000,
    );
    expect(done.payload).toMatchObject({ request: 'compare the two notes', spoke: true });
    expect(done.result?.status).toBe('completed');
    await tg.waitFor(() => texts(adaChat.id).includes(done.result!.answer.trim()), 'the answer as text');
    // two voice notes: the turn's own answer (the tool's acknowledgement) and the plan's summary
    const voices = await tg.waitFor(
      () => (tg.sent('sendVoice').length >= 2 ? tg.sent('sendVoice') : undefined),
      'the spoken summary',
    );
    expect(voices.some((c) => c.params.caption === PLANNED_TEXT)).toBe(true);
    const summary = voices.find((c) => c.params.caption !== PLANNED_TEXT)!;
    const probe = await ffprobeBuffer(dir, summary.files.voice!.data, 'summary.ogg');
    expect(probe.codec).toBe('opus');
    // the model was offered plan_task in the turn
    const turnRequest = llm.chatRequests().find((r) => r.body && !asksForPlan(r.body));
    expect(turnRequest?.body?.tools?.map((t) => t.function.name)).toContain(PLAN_TOOL_NAME);
  });

  it('/cancel stops a running plan: the root and its running subtask, and the status says so', async () => {
    june = await startJune({
      telegram: tg,
      llm,
      engines: { stt, tts },
      plan: true,
      concurrency: 4,
      env: { ...ENV, JUNE_ALLOW_USERS: `telegram:${ada.id}` },
    });
    scriptPlan(ONE_STEP);
    // the subtask's model reply never comes until the test ends: the plan is running when /cancel arrives
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    llm.enqueueWhen((b) => b.messages?.[0]?.content === SUBTASK_SYSTEM_PROMPT, {
      ...textOnly('never seen'),
      stream: [{ hold: held }, ...(textOnly('never seen').stream ?? [])],
    });
    try {
      tg.pushMessage({ from: ada, chat: adaChat, text: '/plan compare the notes' });
      const child = await eventually(
        async () => (await june!.tasks()).find((t) => t.kind === 'plan.chat' && t.state === 'active'),
        'the subtask to run',
        60_000,
      );
      tg.pushMessage({ from: ada, chat: adaChat, text: '/cancel' });
      await tg.waitFor(() => texts(adaChat.id).find((t) => t === 'Cancelled the plan.'), 'the cancel answer');
      await eventually(
        async () => {
          const all = await june!.tasks();
          const root = all.find((t) => t.kind === PLAN_RUN_KIND);
          const sub = all.find((t) => t.id === child.id);
          return root?.state === 'cancelled' && sub?.state === 'cancelled' ? true : undefined;
        },
        'the root and the subtask to be cancelled',
        60_000,
      );
      await tg.waitFor(
        () => edits().find((e) => e.text.startsWith(`${PLAN_STATUS_PREFIX}cancelled`)),
        'the cancelled status',
      );
      tg.pushMessage({ from: ada, chat: adaChat, text: '/cancel' });
      await tg.waitFor(
        () => texts(adaChat.id).filter((t) => t === 'Nothing to cancel.').length === 1,
        'nothing more to cancel',
      );
    } finally {
      release();
    }
  });

  it.skipIf(!bwrap.ok)('sends the files a code subtask made as documents', async () => {
    june = await startJune({
      telegram: tg,
      llm,
      engines: { stt, tts },
      plan: true,
      // workers serve code too: the plan's code subtask runs the coding agent in bubblewrap
      code: true,
      concurrency: 4,
      env: { ...ENV, JUNE_ALLOW_USERS: `telegram:${ada.id}`, JUNE_SANDBOX: 'bubblewrap' },
    });
    scriptPlan({
      goal: 'Write a greeting script',
      subtasks: [
        { id: 'script', capability: 'code', instructions: 'Write hello.sh that prints hello', needs: [] },
      ],
    });
    // the coding agent's two steps (sequential: the only requests in the plain queue)
    llm.enqueue(
      nativeCalls([{ name: 'write_file', args: { path: 'hello.sh', content: 'echo hello\n' } }]),
      nativeCalls([{ name: 'finish', args: { summary: 'Wrote hello.sh.' } }]),
    );
    tg.pushMessage({ from: ada, chat: adaChat, text: '/plan write me a greeting script' });
    const doc = await tg.waitFor(() => tg.sent('sendDocument')[0], 'the file', 90_000);
    expect(doc.files.document!.filename).toBe('hello.sh');
    expect(doc.files.document!.data.toString()).toBe('echo hello\n');
    expect(String(doc.params.chat_id)).toBe(String(adaChat.id));
    const done = (await planTasks()).find((t) => t.state === 'completed');
    expect(done?.result?.files.map((f) => f.name)).toEqual(['hello.sh']);
  });
});
