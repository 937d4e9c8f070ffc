/**
 * `/code TASK` through the gateway, on the real SQLite task queue and channel database: the empty and
 * the no-worker answers, and the `agent.code` task with its reply target once a worker serves `code`.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CODE_TASK_KIND, type CodeTaskPayload } from '../agent/code-contract.js';
import { createLogger } from '../observability/logger.js';
import { openSqliteQueue, type SqliteTaskQueue } from '../tasks/sqlite/sqlite-queue.js';
import { codeSummary } from './code-reply.js';
import { ChannelGateway, NO_CODE_WORKER_TEXT, type ChannelTraits } from './gateway.js';
import { MemoryRateLimiter } from './rate-limit.js';
import { AccessControl } from './store/access.js';
import { ConversationStore } from './store/conversations.js';
import { openChannelDb } from './store/db.js';
import type { InboundMessage } from './types.js';

const telegram: ChannelTraits = {
  limits: { maxTextLength: 4096, maxCaptionLength: 1024, maxDownloadBytes: 1024 * 1024 },
};

let dir: string;
let queue: SqliteTaskQueue;
let gateway: ChannelGateway;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'june-code-cmd-'));
  queue = await openSqliteQueue({ file: path.join(dir, 'tasks.db') });
  const db = openChannelDb(':memory:');
  gateway = new ChannelGateway({
    queue,
    access: new AccessControl(db, ['telegram:1'], Date.now, {
      strangerReplyIntervalMs: 60_000,
      revokedCooldownMs: 60_000,
    }),
    conversations: new ConversationStore(db),
    rateLimiter: new MemoryRateLimiter({ perMinute: 1, burst: 3 }),
    allowGroups: [],
    logger: createLogger('silent'),
  });
});

afterEach(async () => {
  await queue.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const message = (text: string, messageId = '7'): InboundMessage => ({
  channel: 'telegram',
  chatId: '1',
  userId: '1',
  messageId,
  chatType: 'private',
  mentioned: false,
  repliedToBot: false,
  attachments: [],
  receivedAt: Date.now(),
  text,
});

async function codeWorker(): Promise<void> {
  const now = Date.now();
  await queue.registerWorker({
    id: 'w1',
    capabilities: ['chat', 'code'],
    concurrency: 1,
    activeTaskIds: [],
    load: 0,
    host: 'here',
    pid: process.pid,
    startedAt: now,
    lastHeartbeatAt: now,
  });
}

describe('/code', () => {
  it('asks for the task when the text is empty, and makes no task', async () => {
    const outcome = await gateway.accept(message('/code   '), telegram);
    expect(outcome).toMatchObject({ kind: 'reply', reason: 'command' });
    expect((outcome as { text: string }).text).toMatch(/Tell me what to build or fix after \/code/);
    expect(await queue.list()).toHaveLength(0);
  });

  it('says so when no worker serves the code capability, and makes no task', async () => {
    const outcome = await gateway.accept(message('/code write hello.py'), telegram);
    expect(outcome).toEqual({ kind: 'reply', reason: 'command', text: NO_CODE_WORKER_TEXT });
    expect(await queue.list()).toHaveLength(0);
  });

  it('enqueues one agent.code task with the whole text and the reply target', async () => {
    await codeWorker();
    const msg = message('/code write hello.py\nthat prints hi');
    const outcome = await gateway.accept(msg, telegram);
    expect(outcome).toMatchObject({ kind: 'reply', reason: 'command' });
    const tasks = await queue.list();
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ kind: CODE_TASK_KIND, capability: 'code' });
    const payload = tasks[0]!.payload as CodeTaskPayload;
    expect(payload).toEqual({
      task: 'write hello.py\nthat prints hi',
      reply: { channel: 'telegram', chatId: '1', userId: '1', replyToMessageId: '7' },
    });
    expect((outcome as { text: string }).text).toContain(tasks[0]!.id);
    // the platform delivers the same message again: still one task
    await gateway.accept(msg, telegram);
    expect(await queue.list()).toHaveLength(1);
  });
});

describe('codeSummary', () => {
  it('says done with the answer, or why the run stopped', () => {
    expect(codeSummary({ status: 'completed', answer: 'Wrote hello.py.', steps: 3 })).toBe(
      'Done after 3 steps.\nWrote hello.py.',
    );
    expect(codeSummary({ status: 'max_steps', answer: '', steps: 20 })).toBe(
      'The coding task stopped (max_steps) after 20 steps.',
    );
  });
});
