/**
 * kill -9 in the middle of a Telegram turn: `june start` runs as a real child process against the fake
 * Bot API server and a slow LLM server. The process is killed after the update was fetched and its task
 * stored, before any reply went out; Telegram then hands the same update out again (its confirmation was
 * "lost"). The restarted process must answer exactly once, from the one task the update made.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { juneArgv } from '../helpers/june-cli.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { openTaskQueue } from '../../src/tasks/open-queue.js';
import type { Task } from '../../src/tasks/types.js';
import { echoAnswer, startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import {
  privateChat,
  startFakeTelegramServer,
  tgUser,
  type FakeTelegramServer,
} from '../helpers/fake-telegram-server.js';
import { makeTempDir, spokenVoiceNote } from '../helpers/speech-fixtures.js';

const TOKEN = '987654:AAH-crash-test-secret-token';
const ada = tgUser(4242, 'Ada');

let tg: FakeTelegramServer;
let llm: FakeOpenAiServer;
let dir: string;
const running: ChildProcess[] = [];

beforeAll(async () => {
  dir = await makeTempDir('june-tg-crash-');
  tg = await startFakeTelegramServer({ token: TOKEN });
  llm = await startFakeOpenAiServer();
});

afterEach(() => {
  for (const p of running.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
});

afterAll(async () => {
  await tg?.close();
  await llm?.close();
});

const env = () => ({
  PATH: process.env.PATH ?? '',
  HOME: dir,
  JUNE_DATA_DIR: path.join(dir, 'data'),
  JUNE_MODELS_DIR: path.join(dir, 'models'),
  JUNE_TELEGRAM_TOKEN: TOKEN,
  JUNE_TELEGRAM_API_ROOT: tg.url,
  JUNE_LLM_BASE_URL: llm.url,
  JUNE_LLM_MODEL: 'june-test-model',
  JUNE_STT: 'pocketsphinx',
  JUNE_ALLOW_USERS: `telegram:${ada.id}`,
  JUNE_TASK_LEASE_MS: '2000',
  JUNE_WORKER_CONCURRENCY: '1',
  JUNE_LOG_LEVEL: 'info',
});

interface JuneProcess {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

async function startJuneProcess(): Promise<JuneProcess> {
  const proc = spawn(process.execPath, juneArgv(['start', '--no-web']), {
    cwd: dir,
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const polls = tg.calls('getUpdates').length;
  await tg.waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`june start exited early:\n${out}`);
      // running, and its first long poll is open
      return out.includes('June is running.') && tg.calls('getUpdates').length > polls;
    },
    'june start to be up',
    60_000,
  );
  return { proc, output: () => out, exited };
}

async function tasksOnDisk(): Promise<Task[]> {
  const queue = await openTaskQueue(loadConfig({ env: env() }));
  try {
    return await queue.list({ limit: 100 });
  } finally {
    await queue.close();
  }
}

describe('Telegram: kill -9 mid-turn', () => {
  it('answers exactly once after a restart, even when Telegram sends the update again', async () => {
    const question = await spokenVoiceNote(dir, 'what is the weather like in paris today');
    // slow tokens, so the kill lands while the answer is being written
    llm.echo.tokenDelayMs = 400;
    const first = await startJuneProcess();
    const { updateId } = tg.sendVoiceNote(ada, privateChat(ada), question);

    await tg.waitFor(
      () => llm.chatRequests().length === 1 && tg.pendingUpdates().length === 0,
      'the task to reach the LLM and the update to be confirmed',
    );
    expect(tg.sent('sendVoice')).toEqual([]);
    first.proc.kill('SIGKILL');
    await first.exited;

    // what the crash left behind: one task, claimed once, unfinished; nothing sent to Ada
    const left = await tasksOnDisk();
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ state: 'active', attempts: 1 });
    expect(tg.sent().filter((c) => c.method !== 'sendChatAction')).toEqual([]);

    // Telegram never saw the confirmation (as far as the new process knows): it sends the update again
    tg.redeliver(updateId);
    llm.echo.tokenDelayMs = 5;
    const second = await startJuneProcess();
    const reply = await tg.waitFor(
      () => tg.sent('sendVoice')[0],
      'the voice reply after the restart',
      60_000,
    );
    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const heard = String(llm.chatRequests().at(-1)!.body!.messages!.at(-1)!.content);
    expect(reply.params.caption).toBe(echoAnswer(heard));
    expect(tg.sent('sendVoice')).toHaveLength(1);
    expect(tg.sent('sendMessage')).toEqual([]);
    // the update was handed out twice, but it made one task, which ran twice (killed once) and completed
    expect(tg.delivered().filter((id) => id === updateId)).toHaveLength(2);
    const tasks = await tasksOnDisk();
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ id: left[0]!.id, state: 'completed', attempts: 2 });
    expect(llm.chatRequests()).toHaveLength(2);
    // the token is in every Bot API URL, yet no log line shows it
    expect(first.output() + second.output()).not.toContain(TOKEN.split(':')[1]);
  });
});
