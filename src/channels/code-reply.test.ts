/**
 * A coding run's reply re-run after a failure part way (as a retried task re-runs it, with the same
 * recorded steps), against the fake Bot API server and the real Telegram sender: each part goes out
 * once, and the summary goes out once, whichever way: a voice note whose caption carried it is not
 * followed by the text when the retry cannot speak any more, and a summary sent as text is not followed
 * by a voice note when the retry can speak again.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeTelegramServer, type FakeTelegramServer } from '../../test/helpers/fake-telegram-server.js';
import { makeTempDir, spokenVoiceNote } from '../../test/helpers/speech-fixtures.js';
import { createLogger } from '../observability/logger.js';
import { codeReplySender, codeSummary, type SpeakSummary } from './code-reply.js';
import { TelegramSender } from './telegram/telegram-sender.js';
import type { ChannelAdapter, VoiceNote } from './types.js';

const TOKEN = '4714:AAE-reply-test-token';
const logger = createLogger('silent');
const target = { channel: 'telegram', chatId: '99', userId: '99' };
const DIFF =
  'diff --git a/hi.sh b/hi.sh\nnew file mode 100644\n--- /dev/null\n+++ b/hi.sh\n@@ -0,0 +1 @@\n+echo hi\n';
let tg: FakeTelegramServer;
let adapter: ChannelAdapter;
let note: VoiceNote;

beforeAll(async () => {
  tg = await startFakeTelegramServer({ token: TOKEN });
  const sender = new TelegramSender(TOKEN, tg.url, 1000);
  adapter = {
    name: 'telegram',
    limits: { maxTextLength: 4096, maxCaptionLength: 1024, maxDownloadBytes: 1000 },
    start: async () => undefined,
    stop: async () => undefined,
    download: (a, s) => sender.download(a, s),
    sendText: (t, text) => sender.sendText(t, text),
    sendVoice: (t, v, c) => sender.sendVoice(t, v, c),
    sendActivity: (t, a) => sender.sendActivity(t, a),
    sendDocument: (t, d, c) => sender.sendDocument(t, d, c),
  };
  const dir = await makeTempDir('june-code-reply-');
  note = {
    data: await spokenVoiceNote(dir, 'done after three steps'),
    mimeType: 'audio/ogg',
    durationSec: 1,
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

/** A speaker that works while `up.now` is true, and fails like a TTS server that is down otherwise. */
function speaker(up: { now: boolean }): SpeakSummary {
  return async () => {
    if (!up.now) throw new Error('TTS server unreachable');
    return note;
  };
}

const result = (answer: string) => ({ runId: 'r1', status: 'completed', steps: 3, answer, diff: DIFF });
const failOnce = (method: string) =>
  tg.failNext(method, 1, { status: 400, description: 'Bad Request: test' });
const texts = () => tg.sent('sendMessage').map((c) => String(c.params.text));
const captions = () => tg.sent('sendVoice').map((c) => String(c.params.caption ?? ''));

/** Runs the reply, and once more after it failed (the retried task), with the same recorded steps. */
async function deliverTwice(r: Record<string, unknown>, up: { now: boolean }, between: () => void) {
  const send = codeReplySender(() => adapter, logger, speaker(up));
  const once = recordedSteps();
  const args = { target, result: r, spoke: true, once, signal: new AbortController().signal };
  await expect(send(args)).rejects.toThrow();
  between();
  await send(args);
}

describe('a coding reply re-run after a failure part way', () => {
  it('a long summary: the voice note, then the text fails; the retry sends the text once, no second voice note', async () => {
    const long = `Wrote hi.sh. ${'It prints hi and explains itself at length. '.repeat(30)}`;
    failOnce('sendMessage');
    await deliverTwice(result(long), { now: true }, () => undefined);
    expect(tg.sent('sendVoice')).toHaveLength(1);
    expect(captions()).toEqual(['']);
    expect(texts().join('')).toBe(codeSummary(result(long)));
    expect(tg.sent('sendDocument')).toHaveLength(1);
  });

  it('a voice note with the summary as caption, then the diff fails; a retry that cannot speak sends no text', async () => {
    const up = { now: true };
    failOnce('sendDocument');
    await deliverTwice(result('Wrote hi.sh.'), up, () => (up.now = false));
    expect(captions()).toEqual(['Done after 3 steps.\nWrote hi.sh.']);
    expect(texts()).toEqual([]);
    expect(tg.sent('sendDocument')).toHaveLength(1);
  });

  it('the summary sent as text (TTS down), then the diff fails; a retry that can speak sends no voice note', async () => {
    const up = { now: false };
    failOnce('sendDocument');
    await deliverTwice(result('Wrote hi.sh.'), up, () => (up.now = true));
    expect(texts()).toEqual(['Done after 3 steps.\nWrote hi.sh.']);
    expect(tg.sent('sendVoice')).toEqual([]);
    expect(tg.sent('sendDocument')).toHaveLength(1);
  });

  it('the voice note fails to send, then TTS goes down: the retry sends the summary once, as text', async () => {
    const up = { now: true };
    failOnce('sendVoice');
    await deliverTwice(result('Wrote hi.sh.'), up, () => (up.now = false));
    expect(tg.sent('sendVoice')).toEqual([]);
    expect(texts()).toEqual(['Done after 3 steps.\nWrote hi.sh.']);
    expect(tg.sent('sendDocument')).toHaveLength(1);
  });
});
