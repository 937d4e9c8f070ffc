/**
 * A parked update (a `channel.inbound` task, see src/channels/inbound-task.ts) is taken in again by
 * whichever worker claims it. A standalone `june worker` must be able to do that too: it needs the
 * channel's gateway, and so the queue, or a deployment with `june start --no-workers` would leave every
 * parked update to die in the dead-letter queue. Real `june worker` process, real SQLite queue, the fake
 * Telegram Bot API and the fake OpenAI server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_INBOUND_KIND, type ParkedInbound } from '../../src/channels/inbound-task.js';
import { openSqliteQueue } from '../../src/tasks/sqlite/sqlite-queue.js';
import { sqliteQueueFile } from '../../src/tasks/open-queue.js';
import { eventually } from '../../src/tasks/testing/eventually.js';
import { echoAnswer, startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import {
  privateChat,
  startFakeTelegramServer,
  tgUser,
  type FakeTelegramServer,
} from '../helpers/fake-telegram-server.js';
import { juneArgv, repoRoot } from '../helpers/june-cli.js';
import { makeTempDir } from '../helpers/speech-fixtures.js';

let tg: FakeTelegramServer;
let llm: FakeOpenAiServer;
let dir: string;
let worker: ChildProcess | undefined;
let stderr = '';

beforeAll(async () => {
  tg = await startFakeTelegramServer();
  llm = await startFakeOpenAiServer();
  dir = await makeTempDir('june-worker-inbound-');
});

afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  await tg?.close();
  await llm?.close();
});

describe('june worker', () => {
  it('takes a parked Telegram update in again and answers it', async () => {
    const dataDir = path.join(dir, 'data');
    const owner = tgUser(4242, 'Ada');
    const parked: ParkedInbound = {
      channel: 'telegram',
      updateId: '9001',
      raw: {
        bot: { id: 123, username: 'june_test_bot' },
        update: {
          update_id: 9001,
          message: {
            message_id: 77,
            date: Math.floor(Date.now() / 1000),
            chat: privateChat(owner),
            from: owner,
            text: 'hello from a parked update',
          },
        },
      },
      error: 'the database refused it',
      attempts: 5,
    };
    const queue = await openSqliteQueue({ file: sqliteQueueFile({ dataDir }) });
    const id = await queue.enqueue({ kind: CHANNEL_INBOUND_KIND, capability: 'chat', payload: parked });
    await queue.close();

    worker = spawn(process.execPath, juneArgv(['worker', '--capabilities', 'chat']), {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        JUNE_DATA_DIR: dataDir,
        JUNE_MODELS_DIR: path.join(dir, 'models'),
        JUNE_LLM_BASE_URL: llm.url,
        JUNE_LLM_MODEL: 'june-test-model',
        JUNE_TELEGRAM_TOKEN: tg.token,
        JUNE_TELEGRAM_API_ROOT: tg.url,
        JUNE_ALLOW_USERS: `telegram:${owner.id}`,
        JUNE_LOG_LEVEL: 'warn',
      },
    });
    worker.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));

    const check = await openSqliteQueue({ file: sqliteQueueFile({ dataDir }) });
    try {
      // the parked task completes (its intake enqueued a turn) and the turn is answered in the chat
      const finished = await eventually(
        async () => {
          const state = (await check.get(id))?.task.state;
          return state === 'completed' || state === 'dead' ? state : undefined;
        },
        'the parked task to finish',
        90_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\nworker: ${stderr}`);
      });
      expect(finished, stderr).toBe('completed');
      const answer = echoAnswer('hello from a parked update');
      await eventually(
        async () =>
          tg
            .sent('sendMessage')
            .some(
              (c) => String(c.params.chat_id) === String(owner.id) && String(c.params.text).includes(answer),
            ),
        'the answer in the chat',
        90_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\nworker: ${stderr}`);
      });
    } finally {
      await check.close();
    }
    worker.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => worker!.once('exit', (c) => resolve(c)));
    expect(code).toBe(0);
  });
});
