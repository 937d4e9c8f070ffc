/**
 * A coding run whose worker shuts down mid-run (the real SQLite queue and workers, the real coding handler
 * in bubblewrap, the scripted OpenAI-compatible server, the status message through the fake Bot API): the
 * status message says the run was interrupted and will run again, not "cancelled"; nothing of the stopped
 * run is recorded as its result, and the next worker runs the task to its end, editing the same message.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCalls } from '../../test/helpers/fake-agent-scripts.js';
import { scenarios } from '../../test/helpers/fake-openai-scenarios.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../../test/helpers/fake-openai-server.js';
import { startFakeTelegramServer, type FakeTelegramServer } from '../../test/helpers/fake-telegram-server.js';
import { CODE_CAPABILITY, CODE_TASK_KIND, createCodeHandler } from '../agent/code-handler.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { OpenAiLanguageModel } from '../providers/llm/openai.js';
import { checkBubblewrap } from '../sandbox/factory.js';
import { HandlerRegistry } from '../tasks/handlers.js';
import { startWorkers } from '../tasks/runtime.js';
import { openSqliteQueue } from '../tasks/sqlite/sqlite-queue.js';
import { eventually } from '../tasks/testing/eventually.js';
import { codeStatusReporter, INTERRUPTED_LINE, STATUS_STARTING } from './code-status.js';
import { TelegramSender } from './telegram/telegram-sender.js';
import type { ChannelAdapter } from './types.js';

const bwrap = await checkBubblewrap();
const TOKEN = '4713:AAE-interrupt-test-token';
const logger = createLogger('silent');

describe.skipIf(!bwrap.ok)('a coding run interrupted by its worker shutting down', () => {
  let tg: FakeTelegramServer;
  let llm: FakeOpenAiServer;
  let dir: string;
  beforeAll(async () => {
    tg = await startFakeTelegramServer({ token: TOKEN });
    llm = await startFakeOpenAiServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-code-interrupt-'));
  });
  afterAll(async () => {
    await tg?.close();
    await llm?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const edits = () =>
    tg
      .calls('editMessageText')
      .filter((c) => c.status === 200)
      .map((c) => ({ id: String(c.params.message_id), text: String(c.params.text) }));

  it('says it was interrupted and will run again, then the next worker finishes it in the same message', async () => {
    const config = loadConfig({
      env: {},
      file: undefined,
      overrides: { dataDir: dir, workerCapabilities: ['code'], sandbox: 'bubblewrap' },
    });
    const sender = new TelegramSender(TOKEN, tg.url, 1000);
    const adapter: ChannelAdapter = {
      name: 'telegram',
      limits: { maxTextLength: 4096, maxCaptionLength: 1024, maxDownloadBytes: 1000 },
      start: async () => undefined,
      stop: async () => undefined,
      download: (a, s) => sender.download(a, s),
      sendText: (t, text) => sender.sendText(t, text),
      sendVoice: (t, v, c) => sender.sendVoice(t, v, c),
      sendActivity: (t, a) => sender.sendActivity(t, a),
      sendEditableText: (t, text) => sender.sendEditableText(t, text),
      editText: (t, id, text) => sender.editText(t, id, text),
    };
    const model = new OpenAiLanguageModel({ baseUrl: llm.url, model: 'm', retries: 0 });
    const handler = await createCodeHandler({
      config,
      logger,
      model: async () => model,
      status: codeStatusReporter(() => adapter, { logger, editIntervalMs: 0 }),
    });
    const registry = new HandlerRegistry();
    registry.register(CODE_TASK_KIND, CODE_CAPABILITY, handler!);
    const queue = await openSqliteQueue({ file: path.join(dir, 'tasks.db'), pollMs: 20 });
    const workers = () =>
      startWorkers({
        config,
        queue,
        logger,
        registry,
        capabilities: ['code'],
        metrics: false,
        idlePollMs: 100,
        drainTimeoutMs: 200,
      });
    try {
      // the first worker's run gets one step in, then the model never answers
      llm.enqueue(
        nativeCalls([{ name: 'write_file', args: { path: 'hi.sh', content: 'echo hi\n' } }]),
        scenarios.stallBeforeFirstToken(),
      );
      const id = await queue.enqueue({
        kind: CODE_TASK_KIND,
        capability: CODE_CAPABILITY,
        payload: { task: 'write hi.sh', reply: { channel: 'telegram', chatId: '88', userId: '88' } },
      });
      const first = await workers();
      await tg.waitFor(() => edits().some((e) => e.text.startsWith('Coding task: step 2: ')), 'step 2');
      await first.stop();

      await tg.waitFor(() => edits().at(-1)?.text === INTERRUPTED_LINE, 'the interrupted line', 30_000);
      expect(edits().some((e) => /cancelled/.test(e.text))).toBe(false);
      // the task went back to the queue, with no result recorded for the stopped run
      const given = await queue.get(id);
      expect(given?.task.state).toBe('queued');
      expect(given?.task.result).toBeUndefined();

      // the next worker runs it again, from the start, to its end
      llm.enqueue(
        nativeCalls([{ name: 'write_file', args: { path: 'hi.sh', content: 'echo hi\n' } }]),
        nativeCalls([{ name: 'finish', args: { summary: 'Wrote hi.sh.' } }]),
      );
      const second = await workers();
      try {
        const done = await eventually(async () => {
          const d = await queue.get(id);
          return d && ['completed', 'dead', 'cancelled'].includes(d.task.state) ? d : undefined;
        }, 'the task to end');
        expect(done.task.state).toBe('completed');
        expect(done.task.result).toMatchObject({ status: 'completed', answer: 'Wrote hi.sh.' });
        await tg.waitFor(() => edits().at(-1)?.text === 'Coding task: done after 2 steps.', 'done');
      } finally {
        await second.stop();
      }
      // one status message, sent once and edited throughout, by both workers
      expect(tg.sent('sendMessage').map((c) => String(c.params.text))).toEqual([STATUS_STARTING]);
      expect(new Set(edits().map((e) => e.id)).size).toBe(1);
    } finally {
      await queue.close();
    }
  });
});
