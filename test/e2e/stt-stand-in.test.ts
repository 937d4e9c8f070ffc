/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked field by field */
/**
 * JUNE_STT=auto when whisper cannot be had: pocketsphinx answers instead of nothing, and the user is told
 * so with the reply. Real turns on real engines: over the HTTP API with `JUNE_OFFLINE` and an empty model
 * cache (the engine June builds from its config), and on Telegram (a fake Bot API server) with a whisper
 * model file that fails to load.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { PocketsphinxSpeechToText } from '../../src/providers/stt/pocketsphinx.js';
import { SpeechToTextWithFallback } from '../../src/providers/stt/stt-fallback.js';
import { WhisperSpeechToText } from '../../src/providers/stt/whisper.js';
import { EspeakTextToSpeech } from '../../src/providers/tts/espeak.js';
import { echoAnswer, startFakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { privateChat, startFakeTelegramServer, tgUser } from '../helpers/fake-telegram-server.js';
import { makeTempDir, spokenVoiceNote } from '../helpers/speech-fixtures.js';
import { startJune as startTelegramJune } from '../helpers/telegram-june.js';
import { apiClient, bearer as as } from './web-client.js';
import { startJune, waitForTask } from './web-harness.js';

const logger = createLogger('silent');
const QUESTION = 'what is the weather like in paris today';
const TIMEOUT_MS = 300_000;
let dir: string;
let question: Buffer;

beforeAll(async () => {
  dir = await makeTempDir('june-stand-in-');
  question = await spokenVoiceNote(dir, QUESTION);
}, TIMEOUT_MS);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pocketsphinx standing in for whisper', { timeout: TIMEOUT_MS }, () => {
  it('answers over the HTTP API offline with no whisper model cached, with a note in the answer', async () => {
    const USER = 'user-token-aaaaaaaaaaaaaaaa';
    const june = await startJune({
      apiTokens: [USER],
      stt: 'auto',
      offline: true,
      modelsDir: path.join(dir, 'empty-models'),
    });
    try {
      const { upload } = apiClient(() => june.base);
      const accepted = await upload(USER, question, { conversation: 'offline' });
      expect(accepted.status).toBe(202);
      const task = await waitForTask(june.base, accepted.body.taskId, as(USER), 240_000);
      expect(task.state).toBe('completed');
      const result = task.result as any;
      expect(result.transcript).toMatch(/weather/);
      expect(result.text).toBe(echoAnswer(result.transcript));
      expect(result.notes).toHaveLength(1);
      expect(result.notes[0]).toMatch(/^Heard by pocketsphinx, a much less accurate speech recogniser/);
      expect(result.notes[0]).toMatch(/not downloaded and downloads are off/);
    } finally {
      await june.stop();
    }
  });

  it('says it on Telegram, after the answer, when the whisper model fails to load', async () => {
    const broken = path.join(dir, 'ggml-broken.bin');
    await writeFile(broken, 'not a ggml model');
    const stt = new SpeechToTextWithFallback({
      primary: new WhisperSpeechToText({ modelPath: broken, logger }),
      fallback: () => Promise.resolve(new PocketsphinxSpeechToText({ logger })),
      logger,
    });
    const tg = await startFakeTelegramServer();
    const llm = await startFakeOpenAiServer({ echo: { tokenDelayMs: 2 } });
    const ada = tgUser(4242, 'Ada', 'ada');
    const june = await startTelegramJune({
      telegram: tg,
      llm,
      engines: { stt, tts: new EspeakTextToSpeech({ logger }) },
      env: { JUNE_ALLOW_USERS: `telegram:${ada.id}` },
    });
    try {
      tg.sendVoiceNote(ada, privateChat(ada), question);
      const reply = await tg.waitFor(() => tg.sent('sendVoice')[0], 'the voice reply', 240_000);
      const heard = String(llm.chatRequests().at(-1)?.body?.messages?.at(-1)?.content ?? '');
      expect(heard).toMatch(/weather/);
      const caption = String(reply.params.caption);
      expect(caption.startsWith(`${echoAnswer(heard)}\n\n(Heard by pocketsphinx`)).toBe(true);
      expect(caption).toMatch(/could not be downloaded or loaded/);
      expect(stt.fellBack).toBeTruthy();
    } finally {
      await june.stop();
      await stt.close();
      await tg.close();
      await llm.close();
    }
  });
});
