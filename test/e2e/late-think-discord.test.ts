/**
 * Discord against a Qwen3-Thinking-2507 served without a reasoning parser, under three names: the voice
 * message says only the answer, the text message is only the answer, and the next turn's history holds
 * only the answer. June builds its pipeline from the config here, as `june start` does, so the thinking
 * memory lives in its data directory.
 */
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { startChannelRuntime, type ChannelRuntime } from '../../src/channels/runtime.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { HandlerRegistry } from '../../src/tasks/handlers.js';
import { openTaskQueue } from '../../src/tasks/open-queue.js';
import { startWorkers, type WorkerPool } from '../../src/tasks/runtime.js';
import type { TaskQueue } from '../../src/tasks/types.js';
import { startFakeDiscordServer, type FakeDiscordServer } from '../helpers/fake-discord-server.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { LATE_ANSWER, LATE_THOUGHT, scenarios } from '../helpers/fake-openai-scenarios.js';
import { SERVED_NAMES, expectAnswerOnly, spokenLengths, type SpokenLengths } from '../helpers/late-think.js';
import { ffprobeBuffer, makeTempDir } from '../helpers/speech-fixtures.js';

const IS_VOICE_MESSAGE = 1 << 13;
const logger = createLogger('silent');

let discord: FakeDiscordServer;
let llm: FakeOpenAiServer;
let lengths: SpokenLengths;
let running: { queue: TaskQueue; runtime: ChannelRuntime; workers: WorkerPool } | undefined;

beforeAll(async () => {
  discord = await startFakeDiscordServer();
  llm = await startFakeOpenAiServer({ models: SERVED_NAMES });
  lengths = await spokenLengths();
});

afterAll(async () => {
  await llm?.close();
  await discord?.close();
});

afterEach(async () => {
  await running?.workers.stop();
  await running?.runtime.stop();
  await running?.queue.close();
  running = undefined;
  discord.reset();
  llm.reset();
});

describe.each(SERVED_NAMES)('Discord with the model served as %s', (name) => {
  it('speaks and writes only the answer, and sends only the answer as history', async () => {
    const dir = await makeTempDir('june-late-think-discord-');
    const alice = discord.user('alice');
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: dir,
        stt: 'pocketsphinx',
        llm: 'openai',
        llmBaseUrl: llm.url,
        llmModel: name,
        tts: 'espeak-ng',
        voiceReplies: 'always',
        discordToken: discord.token,
        discordApiBase: discord.apiBase,
        allowUsers: [`discord:${alice.id}`],
        rateLimitPerMinute: 1000,
        rateLimitBurst: 1000,
      },
    });
    const queue = await openTaskQueue(config);
    const registry = new HandlerRegistry();
    const runtime = await startChannelRuntime({ config, queue, logger, registry });
    const workers = await startWorkers({ queue, config, registry, logger, metrics: false, idlePollMs: 100 });
    running = { queue, runtime, workers };
    llm.enqueue(scenarios.lateCloseThought(name), scenarios.lateCloseThought(name));
    const dm = discord.dmChannelId(alice);
    const reply = (n: number) =>
      discord.waitFor(() => discord.sent(dm).length >= 2 * n && discord.sent(dm).slice(2 * n - 2), {
        timeoutMs: 60_000,
        what: `reply ${n}: a voice message and its text`,
      });

    discord.sendDm(alice, 'what is the capital of France');
    const [voice, text] = await reply(1);
    expect(voice!.flags & IS_VOICE_MESSAGE).toBe(IS_VOICE_MESSAGE);
    expect(text!.content).toBe(LATE_ANSWER);
    const probe = await ffprobeBuffer(dir, voice!.files[0]!.data, 'late.ogg');
    expectAnswerOnly(probe.duration, lengths);

    discord.sendDm(alice, 'and of Italy');
    const [, secondText] = await reply(2);
    expect(secondText!.content).toBe(LATE_ANSWER);
    const history = llm.chatRequests().at(-1)!.body!.messages!;
    expect(history.filter((m) => m.role === 'assistant').map((m) => m.content)).toEqual([LATE_ANSWER]);
    expect(JSON.stringify(history)).not.toContain(LATE_THOUGHT.slice(0, 30));
  });
});
