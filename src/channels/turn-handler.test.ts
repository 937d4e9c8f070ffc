/**
 * The turn handler's failure paths, on scripted engines (src/pipeline/testing) and June's real SQLite task
 * queue and workers: what the user is told, when, and what the conversation keeps. The platform is a
 * recording adapter; real platforms run in test/e2e.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { replyOf, ScriptedLanguageModel } from '../pipeline/testing/scripted-llm.js';
import { scriptedPipeline, type ScriptedEngines } from '../pipeline/testing/run-turn.js';
import { ScriptedTextToSpeech } from '../pipeline/testing/scripted-tts.js';
import { REPLIES } from '../pipeline/replies.js';
import { HandlerRegistry } from '../tasks/handlers.js';
import { openTaskQueue } from '../tasks/open-queue.js';
import { startWorkers } from '../tasks/runtime.js';
import { eventually } from '../tasks/testing/eventually.js';
import type { Task, TaskQueue } from '../tasks/types.js';
import { ProviderError } from '../util/errors.js';
import { makeTempDir } from '../../test/helpers/speech-fixtures.js';
import { AudioStore } from './audio-store.js';
import { openChannelDb } from './store/db.js';
import { ConversationStore } from './store/conversations.js';
import { registerChannelTurnHandler } from './turn-handler.js';
import type { ChannelAdapter, InboundMessage, ReplyTarget, VoiceNote } from './types.js';

const logger = createLogger('silent');

/** A platform that keeps what June sends. */
class RecordingAdapter implements ChannelAdapter {
  readonly name = 'test';
  readonly limits = { maxTextLength: 4096, maxCaptionLength: 1024, maxDownloadBytes: 1_000_000 };
  readonly texts: string[] = [];
  readonly voices: Array<{ voice: VoiceNote; caption?: string }> = [];
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async download(): Promise<Buffer> {
    return Buffer.from('not audio at all, just some bytes that no decoder accepts as sound');
  }
  async sendText(_target: ReplyTarget, text: string): Promise<void> {
    this.texts.push(text);
  }
  async sendVoice(_target: ReplyTarget, voice: VoiceNote, caption?: string): Promise<void> {
    this.voices.push({ voice, ...(caption !== undefined ? { caption } : {}) });
  }
  async sendActivity(): Promise<void> {}
}

interface Running {
  queue: TaskQueue;
  adapter: RecordingAdapter;
  conversations: ConversationStore;
  send(text: string, options?: { voice?: boolean; speak?: boolean }): Promise<Task>;
  stop(): Promise<void>;
}

let running: Running | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function start(engines: Partial<ScriptedEngines>): Promise<Running> {
  const dir = await makeTempDir('june-turn-handler-');
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, taskMaxAttempts: 3 } });
  const queue = await openTaskQueue(config, { logger, retryBaseMs: 1, retryMaxMs: 5 });
  const { pipeline } = scriptedPipeline(engines);
  const adapter = new RecordingAdapter();
  const conversations = new ConversationStore(openChannelDb(path.join(dir, 'channels.db')));
  const registry = new HandlerRegistry();
  registerChannelTurnHandler(registry, {
    pipeline: async () => pipeline,
    conversations,
    audio: new AudioStore(path.join(dir, 'audio')),
    adapter: () => adapter,
    historyMaxTokens: 3000,
    historyTurns: 20,
    defaultVoiceMode: 'auto',
  });
  const workers = await startWorkers({ queue, config, registry, logger, metrics: false, idlePollMs: 20 });
  let n = 0;
  const r: Running = {
    queue,
    adapter,
    conversations,
    async send(text, options = {}) {
      const messageId = String(++n);
      const message: InboundMessage = {
        channel: 'test',
        chatId: 'c1',
        userId: 'u1',
        messageId,
        chatType: 'private',
        mentioned: false,
        repliedToBot: false,
        text,
        attachments: [],
        receivedAt: Date.now(),
        ...(options.speak !== undefined ? { speak: options.speak } : {}),
      };
      const attachment = options.voice ? { kind: 'voice' as const, fileId: `f${messageId}` } : undefined;
      const id = await queue.enqueue({
        kind: attachment ? 'channel.voice' : 'channel.text',
        capability: attachment ? 'voice' : 'chat',
        payload: { message, ...(attachment ? { attachment } : {}) },
        conversationKey: 'test:c1',
      });
      return eventually(async () => {
        const task = (await queue.get(id))?.task;
        return task && ['completed', 'dead'].includes(task.state) ? task : undefined;
      }, `task ${id} to settle`);
    },
    async stop() {
      await workers.stop();
      await queue.close();
    },
  };
  return r;
}

const ref = { channel: 'test', chatId: 'c1', userId: 'u1' };
const flaky = () => new Error('the model server hiccuped');

describe('the turn handler when things fail', () => {
  it('says nothing while a retry is coming, then answers once', async () => {
    const llm = new ScriptedLanguageModel({ script: [[flaky()], replyOf('Second time lucky.')] });
    running = await start({ llm });
    const task = await running.send('hello');
    expect(task.state).toBe('completed');
    expect(task.attempts).toBe(2);
    expect(running.adapter.texts).toEqual(['Second time lucky.']);
    expect(running.conversations.history(ref, 1000)).toEqual([
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'Second time lucky.' },
    ]);
  });

  it('tells the user once, after the last attempt, and keeps nothing of the failed turn', async () => {
    const llm = new ScriptedLanguageModel({ script: [[flaky()], [flaky()], [flaky()]] });
    running = await start({ llm });
    const task = await running.send('hello');
    expect(task.state).toBe('dead');
    expect(task.attempts).toBe(3);
    expect(running.adapter.texts).toHaveLength(1);
    expect(running.adapter.texts[0]).toMatch(/try again/i);
    expect(running.conversations.history(ref, 1000)).toEqual([]);
  });

  it('tells the user at once about a final error (a refused request), without retrying', async () => {
    const refused = new ProviderError('scripted-llm', 'invalid API key', {
      status: 401,
      userMessage: 'My language model refused the request.',
    });
    running = await start({ llm: new ScriptedLanguageModel({ script: [[refused]] }) });
    const task = await running.send('hello');
    expect(task.state).toBe('dead');
    expect(task.attempts).toBe(1);
    expect(running.adapter.texts).toEqual(['My language model refused the request.']);
  });

  it('answers bad audio with its own sentence, and never asks the LLM', async () => {
    const llm = new ScriptedLanguageModel();
    running = await start({ llm });
    const task = await running.send('', { voice: true });
    expect(task.state).toBe('dead');
    expect(running.adapter.texts).toHaveLength(1);
    expect(running.adapter.texts[0]).toMatch(/audio/i);
    expect(llm.requests).toEqual([]);
  });

  it('replies in text with the note when the voice fails', async () => {
    const tts = new ScriptedTextToSpeech({ failOn: () => new Error('speech engine crashed') });
    running = await start({ tts, llm: new ScriptedLanguageModel({ script: [replyOf('Here you are.')] }) });
    const task = await running.send('talk to me', { speak: true });
    expect(task.state).toBe('completed');
    expect(running.adapter.voices).toEqual([]);
    expect(running.adapter.texts).toEqual([
      `Here you are.\n\n(${REPLIES.ttsFailed} (speech engine crashed))`,
    ]);
  });
});
