/**
 * The planner as `june start` wires it, in its own process: JUNE_WORKER_CAPABILITIES=chat,plan serves plan
 * roots (delivering to the chat) and chat subtasks. Through the fake Bot API server and the scripted
 * OpenAI-compatible server: `/plan` shows a plan over the approval cost with its button, the press runs
 * it, the answer comes back; then `june tasks tree ID` (another process, the same SQLite queue) prints
 * the approved run's tree.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCalls } from '../helpers/fake-agent-scripts.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import {
  privateChat,
  startFakeTelegramServer,
  tgUser,
  type FakeTelegramServer,
} from '../helpers/fake-telegram-server.js';
import { execJune, juneArgv } from '../helpers/june-cli.js';
import { makeTempDir } from '../helpers/speech-fixtures.js';

const ada = tgUser(8181, 'Ada', 'ada');
const adaChat = privateChat(ada);

let tg: FakeTelegramServer;
let llm: FakeOpenAiServer;
let dir: string;
let proc: ChildProcess | undefined;
let output = '';

const env = () => ({
  PATH: process.env.PATH ?? '',
  HOME: dir,
  JUNE_DATA_DIR: path.join(dir, 'data'),
  JUNE_MODELS_DIR: path.join(dir, 'models'),
  JUNE_STT: 'pocketsphinx',
  JUNE_LLM: 'openai',
  JUNE_LLM_BASE_URL: llm.url,
  JUNE_LLM_MODEL: 'june-test-model',
  JUNE_TELEGRAM_TOKEN: tg.token,
  JUNE_TELEGRAM_API_ROOT: tg.url,
  JUNE_ALLOW_USERS: `telegram:${ada.id}`,
  JUNE_WORKER_CAPABILITIES: 'chat,plan',
  JUNE_WORKER_CONCURRENCY: '3',
  JUNE_AGENT_STATUS_EDIT_MS: '0',
  JUNE_PLAN_APPROVAL_SUBTASKS: '1',
  JUNE_LOG_LEVEL: 'warn',
});

beforeAll(async () => {
  tg = await startFakeTelegramServer();
  llm = await startFakeOpenAiServer();
  dir = await makeTempDir('june-cli-plan-');
});

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM');
    await new Promise((r) => proc!.once('exit', r));
  }
  await tg?.close();
  await llm?.close();
});

describe('june start with the plan capability', () => {
  it('runs an approved plan from Telegram, and june tasks tree prints it', async () => {
    proc = spawn(process.execPath, juneArgv(['start', '--no-web']), {
      cwd: dir,
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await tg.waitFor(() => output.includes('Workers: '), 'june start to run', 90_000);
    expect(output).toMatch(/Workers: .*plan/);

    llm.enqueueWhen(
      (b) => b.tools?.some((t) => t.function.name === 'make_plan') === true,
      nativeCalls([
        {
          name: 'make_plan',
          args: {
            goal: 'Compare two notes',
            subtasks: [
              { id: 'facts', capability: 'chat', instructions: 'List the facts', needs: [] },
              { id: 'draft', capability: 'chat', instructions: 'Draft the comparison', needs: ['facts'] },
            ],
          },
        },
      ]),
    );
    tg.pushMessage({ from: ada, chat: adaChat, text: '/plan compare my two notes' });
    const shown = await tg.waitFor(
      () => tg.botTexts(adaChat.id).find((t) => t.replyMarkup !== undefined),
      'the plan with its button',
      90_000,
    );
    const data = (shown.replyMarkup as { inline_keyboard: { callback_data: string }[][] })
      .inline_keyboard[0]![0]!.callback_data;
    tg.pressButton(ada, shown.messageId, data);
    const approved = await tg.waitFor(
      () => tg.botTexts(adaChat.id).find((t) => t.text.startsWith('Approved: running the plan (task ')),
      'the approval',
    );
    const runId = /task ([^)]+)\)/.exec(approved.text)![1]!;
    await tg.waitFor(
      () => tg.botTexts(adaChat.id).find((t) => t.text === 'Plan: done (2 of 2 done).'),
      'the final status',
      90_000,
    );

    const tree = await execJune(['tasks', 'tree', runId], { cwd: dir, env: env() });
    expect(tree.code, tree.stderr).toBe(0);
    expect(tree.stdout).toContain(`plan ${runId}  completed (completed)`);
    expect(tree.stdout).toMatch(/└─ draft \[chat\] {2}completed {2}task \S+ {2}needs: facts/);
  });
});
