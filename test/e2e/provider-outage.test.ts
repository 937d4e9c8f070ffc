/**
 * Riding out a model server restart: the LLM server goes away while a Telegram user's messages are
 * queued, and comes back on the same port. No task may be dead-lettered, each message is answered once,
 * and the user is told once that the answer will come. Runs on both queue backends; the circuit breaker's
 * pauses are shortened through the config, and nothing here depends on how long anything takes.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OUTAGE_NOTICE } from '../../src/channels/turn-handler.js';
import { createLogger } from '../../src/observability/logger.js';
import { PocketsphinxSpeechToText } from '../../src/providers/stt/pocketsphinx.js';
import { EspeakTextToSpeech } from '../../src/providers/tts/espeak.js';
import { taskMetrics } from '../../src/tasks/metrics.js';
import { startRedisServer, type RedisServer } from '../../src/tasks/testing/redis-server.js';
import { echoAnswer, startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import {
  privateChat,
  startFakeTelegramServer,
  tgUser,
  type FakeTelegramServer,
} from '../helpers/fake-telegram-server.js';
import { startJune } from '../helpers/telegram-june.js';

const logger = createLogger('silent');
const ada = tgUser(5151, 'Ada', 'ada');
const adaChat = privateChat(ada);
const QUESTIONS = ['first question', 'second question', 'third question'];

let tg: FakeTelegramServer;
let redis: RedisServer;
const stt = new PocketsphinxSpeechToText({ logger });
const tts = new EspeakTextToSpeech({ logger });

beforeAll(async () => {
  tg = await startFakeTelegramServer();
  redis = await startRedisServer();
});

afterAll(async () => {
  await tg?.close();
  await redis?.destroy();
  await stt.close();
});

describe.each(['sqlite', 'bullmq'] as const)('an LLM server restart on %s', (queue) => {
  it('keeps the queued messages, answers each once after the restart and tells the user once', async () => {
    tg.reset();
    let llm: FakeOpenAiServer = await startFakeOpenAiServer();
    const port = Number(new URL(llm.origin).port);
    const june = await startJune({
      telegram: tg,
      llm,
      engines: { stt, tts },
      env: {
        JUNE_ALLOW_USERS: `telegram:${ada.id}`,
        JUNE_QUEUE: queue,
        JUNE_REDIS_URL: redis.url,
        JUNE_TASK_MAX_ATTEMPTS: '3',
        JUNE_CIRCUIT_OPEN_MS: '50',
        JUNE_CIRCUIT_MAX_OPEN_MS: '200',
        JUNE_PROVIDER_OUTAGE_MAX_MS: '600000',
      },
    });
    try {
      await llm.close(); // the model server goes down (connections refused)
      for (const text of QUESTIONS) tg.pushMessage({ from: ada, chat: adaChat, text });

      // more failed probes than the task has attempts: the outage spends no attempts
      const circuit = await tg.waitFor(
        () => june.workers.circuits().find((c) => c.provider === 'openai-llm' && c.failures > 3),
        'the LLM circuit to have seen several failed probes',
        60_000,
      );
      expect(circuit.capabilities).toContain('chat');
      const listed = await june.queue.listWorkers();
      expect(listed.flatMap((w) => w.circuits ?? []).map((c) => c.provider)).toContain('openai-llm');
      const metrics = taskMetrics(new Registry());
      const unwatch = metrics.watchQueue(june.queue);
      expect(await metrics.registry.metrics()).toContain('june_circuit_open{provider="openai-llm"} 1');
      unwatch();

      llm = await startFakeOpenAiServer({ port }); // back on the same address
      const texts = () =>
        tg
          .sent('sendMessage')
          .filter((c) => String(c.params.chat_id) === String(adaChat.id))
          .map((c) => String(c.params.text));
      await tg.waitFor(() => texts().length >= 1 + QUESTIONS.length, 'every answer', 60_000);
      await tg.waitFor(
        () => june.workers.circuits().every((c) => c.state === 'closed'),
        'the circuit to close',
      );

      expect(texts()).toEqual([OUTAGE_NOTICE, ...QUESTIONS.map(echoAnswer)]);
      // the last reply can arrive before its task is recorded completed: wait for the record, not a race
      let tasks = await june.tasks();
      for (let i = 0; i < 300 && tasks.some((t) => t.state === 'active'); i++) {
        await new Promise((r) => setTimeout(r, 100));
        tasks = await june.tasks();
      }
      expect(tasks).toHaveLength(QUESTIONS.length);
      expect(tasks.map((t) => t.state)).toEqual(QUESTIONS.map(() => 'completed'));
      expect(await june.queue.listDead()).toEqual([]);
      expect(llm.chatRequests()).toHaveLength(QUESTIONS.length);
    } finally {
      await june.stop();
      await llm.close();
    }
  });
});
