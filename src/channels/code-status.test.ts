/**
 * The coding status message against the fake Bot API server (real HTTP, the real Telegram sender): edits
 * are coalesced while the interval has not passed and the final state always goes out; a retried task
 * (the same recorded steps) edits the same message, and repeating the last state is no error.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeTelegramServer, type FakeTelegramServer } from '../../test/helpers/fake-telegram-server.js';
import { createLogger } from '../observability/logger.js';
import { codeStatusReporter, finalLine, STATUS_STARTING } from './code-status.js';
import { TelegramSender } from './telegram/telegram-sender.js';
import type { ChannelAdapter } from './types.js';

const TOKEN = '4712:AAE-status-test-token';
const logger = createLogger('silent');
const target = { channel: 'telegram', chatId: '77', userId: '77' };
let tg: FakeTelegramServer;
let adapter: ChannelAdapter;

beforeAll(async () => {
  tg = await startFakeTelegramServer({ token: TOKEN });
  const sender = new TelegramSender(TOKEN, tg.url, 1000);
  // the adapter's sending half is the sender; receiving is not used here
  adapter = {
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
});
afterAll(async () => {
  await tg?.close();
});
beforeEach(() => tg.reset());

/** A task's recorded steps, as the queue keeps them across attempts. */
function recordedSteps() {
  const steps = new Map<string, unknown>();
  return async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    if (!steps.has(step)) steps.set(step, await fn());
    return steps.get(step) as T;
  };
}

const edits = () =>
  tg
    .calls('editMessageText')
    .filter((c) => c.status === 200)
    .map((c) => String(c.params.text));

describe('the coding status message', () => {
  it('coalesces steps within the interval and always ends on the final state', async () => {
    const status = codeStatusReporter(() => adapter, { logger, editIntervalMs: 60_000 })({
      target,
      once: recordedSteps(),
      signal: new AbortController().signal,
    });
    for (let step = 1; step <= 20; step++) status.progress({ step, activity: `step ${step} work` });
    await status.finish({ status: 'completed', steps: 20 });

    expect(tg.sent('sendMessage').map((c) => String(c.params.text))).toEqual([STATUS_STARTING]);
    const texts = edits();
    // at most the first step (the interval had not started) and the final state
    expect(texts.length).toBeLessThanOrEqual(2);
    expect(texts.at(-1)).toBe('Coding task: done after 20 steps.');
    expect(texts.some((t) => t.includes('step 20 work'))).toBe(false);
  });

  it('a retried task edits the same message, and repeating the last state is no error', async () => {
    const once = recordedSteps();
    const signal = new AbortController().signal;
    const reporter = codeStatusReporter(() => adapter, { logger, editIntervalMs: 0 });
    const first = reporter({ target, once, signal });
    first.progress({ step: 1, activity: 'thinking' });
    await first.finish({ status: 'max_steps', steps: 1 });

    const retried = reporter({ target, once, signal });
    await retried.finish({ status: 'max_steps', steps: 1 });
    expect(tg.sent('sendMessage')).toHaveLength(1);
    const ids = new Set(tg.calls('editMessageText').map((c) => String(c.params.message_id)));
    expect(ids.size).toBe(1);
    // the retried task's edit changed nothing: Telegram refused it as "not modified", which is fine
    expect(tg.calls('editMessageText').at(-1)!.status).toBe(400);
    expect(edits().at(-1)).toBe(finalLine({ status: 'max_steps', steps: 1 }));
    expect(finalLine({ status: 'max_steps', steps: 1 })).toBe(
      'Coding task: stopped (max_steps) after 1 steps.',
    );
  });
});
