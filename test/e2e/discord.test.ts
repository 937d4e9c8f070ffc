/**
 * June on Discord, end to end: a local Discord (REST + gateway, test/helpers/fake-discord-server.ts) that
 * discord.js really connects to, and June's real pieces in this process: the channel runtime with the
 * Discord adapter it creates from the config, the SQLite task queue in a temp dir, workers, and a voice
 * pipeline on real engines (ffmpeg, pocketsphinx, espeak-ng; the LLM is an OpenAI-compatible echo server).
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeAudio } from '../../src/audio/index.js';
import { startChannelRuntime, type ChannelRuntime } from '../../src/channels/runtime.js';
import { loadConfig } from '../../src/config/load.js';
import { wordErrorRate } from '../../src/eval/wer.js';
import { createLogger } from '../../src/observability/logger.js';
import { voiceMetrics } from '../../src/observability/metrics.js';
import { fixedPipeline } from '../../src/channels/pipeline-holder.js';
import { VoicePipeline } from '../../src/pipeline/voice-pipeline.js';
import { OpenAiLanguageModel } from '../../src/providers/llm/openai.js';
import { PocketsphinxSpeechToText } from '../../src/providers/stt/pocketsphinx.js';
import { EspeakTextToSpeech } from '../../src/providers/tts/espeak.js';
import { HandlerRegistry } from '../../src/tasks/handlers.js';
import { openTaskQueue } from '../../src/tasks/open-queue.js';
import { startWorkers, type WorkerPool } from '../../src/tasks/runtime.js';
import type { TaskQueue } from '../../src/tasks/types.js';
import {
  startFakeDiscordServer,
  type FakeDiscordServer,
  type FakeUser,
} from '../helpers/fake-discord-server.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { ffprobeBuffer, makeTempDir, spokenVoiceNote } from '../helpers/speech-fixtures.js';

const IS_VOICE_MESSAGE = 1 << 13;
const QUESTION = 'what is the weather like in paris today';
const logger = createLogger('silent');

let dir: string;
let discord: FakeDiscordServer;
let llmServer: FakeOpenAiServer;
let stt: PocketsphinxSpeechToText;
let queue: TaskQueue;
let runtime: ChannelRuntime;
let workers: WorkerPool;
let alice: FakeUser;
let general: string;
let random: string;

/** What the LLM was asked, as the last user message of each chat request. */
const llmQuestions = () =>
  llmServer.chatRequests().map((r) => String(r.body?.messages?.at(-1)?.content ?? ''));

beforeAll(async () => {
  dir = await makeTempDir('june-discord-e2e-');
  discord = await startFakeDiscordServer();
  llmServer = await startFakeOpenAiServer({ echo: {} });
  alice = discord.user('alice');
  general = discord.guilds[0]!.channels[0]!.id;
  random = discord.guilds[0]!.channels[1]!.id;
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: dir,
      discordToken: discord.token,
      discordApiBase: discord.apiBase,
      allowUsers: [`discord:${alice.id}`],
      allowGroups: [`discord:${general}`],
      rateLimitPerMinute: 1000,
      rateLimitBurst: 1000,
    },
  });
  stt = new PocketsphinxSpeechToText({ logger });
  const pipeline = new VoicePipeline({
    stt,
    llm: new OpenAiLanguageModel({ baseUrl: llmServer.url, model: 'june-test-model', logger }),
    tts: new EspeakTextToSpeech({ logger }),
    config,
    logger,
    metrics: voiceMetrics(new Registry()),
  });
  await pipeline.warmUp();
  queue = await openTaskQueue(config);
  const registry = new HandlerRegistry();
  // the adapter comes from the config (discordToken set), as with `june start`
  runtime = await startChannelRuntime({
    config,
    queue,
    logger,
    registry,
    pipeline: fixedPipeline(pipeline),
  });
  workers = await startWorkers({ queue, config, registry, logger, metrics: false, idlePollMs: 100 });
});

afterAll(async () => {
  await workers?.stop();
  await runtime?.stop();
  await queue?.close();
  await stt?.close();
  await llmServer?.close();
  await discord?.close();
});

beforeEach(() => {
  discord.reset();
  llmServer.reset();
});

describe('June on Discord', () => {
  it('connects, registers its slash commands and answers a spoken DM with a voice message and text', async () => {
    expect(runtime.adapters.get('discord')).toBeDefined();
    expect(discord.commands().map((c) => c.name)).toEqual(expect.arrayContaining(['new', 'voice']));

    const question = await spokenVoiceNote(dir, QUESTION);
    const asked = discord.sendVoiceMessage(alice, question);
    const dm = discord.dmChannelId(alice);
    const [voice, text] = await discord.waitFor(
      () => {
        const sent = discord.sent(dm);
        return sent.length >= 2 && sent;
      },
      { timeoutMs: 45_000, what: 'the voice reply and its text' },
    );

    // pocketsphinx heard the question, and the LLM was asked exactly that
    const heardQuestion = llmQuestions()[0]!;
    expect(heardQuestion).toMatch(/^what is the weather like/);

    // a Discord voice message replying to the user's message
    expect(voice!.flags & IS_VOICE_MESSAGE).toBe(IS_VOICE_MESSAGE);
    expect(voice!.content).toBe('');
    expect(voice!.replyTo).toBe(asked.id);
    const att = voice!.attachments[0]!;
    expect(att).toMatchObject({ filename: 'voice-message.ogg', content_type: 'audio/ogg' });
    const bars = Buffer.from(att.waveform as string, 'base64');
    expect(bars.length).toBeGreaterThan(10);
    expect(bars.length).toBeLessThanOrEqual(256);
    expect(new Set(bars).size).toBeGreaterThan(5);
    const probe = await ffprobeBuffer(dir, voice!.files[0]!.data, 'discord-reply.ogg');
    expect(probe).toMatchObject({ format: 'ogg', codec: 'opus' });
    expect(Math.abs((att.duration_secs as number) - probe.duration)).toBeLessThan(0.2);

    // the text came as its own message, and the voice message says it
    expect(text!.content).toContain('You said: what is the weather like');
    expect(text!.replyTo).toBe(asked.id);
    const decoded = await decodeAudio(voice!.files[0]!.data, { maxBytes: 20e6, maxSeconds: 600 });
    const heardReply = await stt.transcribe(decoded.pcm);
    expect(wordErrorRate(text!.content, heardReply.text).wer).toBeLessThan(0.6);

    // "typing…" showed while June worked
    expect(discord.typing(dm).length).toBeGreaterThan(0);
  });

  it('splits a long answer into messages of at most 2000 characters', async () => {
    const long = Array.from(
      { length: 60 },
      (_, i) => `Sentence number ${i + 1} is here to make this long.`,
    ).join(' ');
    discord.sendDm(alice, long);
    const dm = discord.dmChannelId(alice);
    const parts = await discord.waitFor(
      () => {
        const sent = discord.sent(dm);
        return sent.length >= 2 && sent.at(-1)!.content.includes('anything else') && sent;
      },
      { what: 'the split answer' },
    );
    expect(parts.every((p) => p.content.length <= 2000 && p.flags === 0)).toBe(true);
    expect(parts.map((p) => p.content).join(' ')).toContain('Sentence number 60 is here');
    expect(parts.map((p) => p.content.length).reduce((a, b) => a + b)).toBeGreaterThan(long.length);
  });

  it('in servers answers only when mentioned, and only in allowed channels', async () => {
    discord.sendGuildMessage({ user: alice, channelId: general, content: 'chatting with friends' });
    discord.sendGuildMessage({
      user: alice,
      channelId: random,
      content: 'hello from random',
      mentionBot: true,
    });
    const asked = discord.sendGuildMessage({
      user: alice,
      channelId: general,
      content: 'tell me a joke',
      mentionBot: true,
    });
    const answer = await discord.waitFor(() => discord.sent(general)[0], { what: 'the answer in #general' });
    expect(answer).toMatchObject({ via: 'message', replyTo: asked.id });
    expect(answer.content).toContain('You said: tell me a joke');

    // replying to June's message counts as addressing it
    discord.sendGuildMessage({ user: alice, channelId: general, content: 'another one', replyTo: answer.id });
    await discord.waitFor(() => discord.sent(general).find((m) => m.content.includes('another one')));

    await new Promise((r) => setTimeout(r, 300));
    expect(llmQuestions()).toEqual(['tell me a joke', 'another one']);
    expect(discord.sent(random)).toHaveLength(0);
  });

  it('gives a stranger a pairing code and nothing else, and answers once the owner approves', async () => {
    const mallory = discord.user('mallory');
    discord.sendDm(mallory, 'what is the secret');
    discord.sendGuildMessage({ user: mallory, channelId: general, content: 'hey June', mentionBot: true });
    const dm = discord.dmChannelId(mallory);
    const pairing = await discord.waitFor(() => discord.sent(dm)[0], { what: 'the pairing text' });
    expect(pairing.content).toMatch(/pairing code is \w+/);
    expect(pairing.content).toContain('june pairing approve discord');
    await new Promise((r) => setTimeout(r, 300));
    expect(llmServer.chatRequests()).toHaveLength(0);
    // strangers get nothing in servers
    expect(discord.sent(general)).toHaveLength(0);

    const code = /pairing code is (\w+)/.exec(pairing.content)![1]!;
    expect(runtime.access.approve('discord', code)).toBeDefined();
    discord.sendDm(mallory, 'now do you know me');
    await discord.waitFor(() =>
      discord.sent(dm).find((m) => m.content.includes('You said: now do you know me')),
    );
  });

  it('runs /voice and /new as slash commands', async () => {
    const dm = discord.dmChannelId(alice);
    discord.slashCommand(alice, 'voice', { mode: 'always' });
    const answer = await discord.waitFor(() => discord.sent(dm).find((m) => m.via === 'interaction'));
    expect(answer.content).toBe('Voice replies: always.');

    // a typed message now gets a voice message too
    discord.sendDm(alice, 'say it out loud');
    await discord.waitFor(
      () =>
        discord.sent(dm).some((m) => m.flags & IS_VOICE_MESSAGE) &&
        discord.sent(dm).some((m) => m.content.includes('out loud')),
      { timeoutMs: 30_000, what: 'a voice reply to text' },
    );

    discord.slashCommand(alice, 'voice', { mode: 'never' });
    discord.slashCommand(alice, 'new');
    await discord.waitFor(() => discord.sent(dm).filter((m) => m.via === 'interaction').length >= 3);
    const answers = discord
      .sent(dm)
      .filter((m) => m.via === 'interaction')
      .map((m) => m.content);
    expect(answers.slice(1)).toEqual([
      'Voice replies: never.',
      'Started a new conversation. What would you like to talk about?',
    ]);

    // after /new the LLM sees no earlier turns; with "never" the answer is text only
    llmServer.reset();
    discord.reset();
    discord.sendDm(alice, 'fresh start');
    await discord.waitFor(() => discord.sent(dm).find((m) => m.content.includes('fresh start')));
    const messages = llmServer.chatRequests()[0]!.body!.messages!;
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(discord.sent(dm).some((m) => m.flags & IS_VOICE_MESSAGE)).toBe(false);
  });

  it('waits out a 429 on sending and delivers the reply exactly once', async () => {
    discord.rateLimit({ method: 'POST', path: /^\/channels\/\d+\/messages$/, retryAfterSec: 1 });
    discord.sendDm(alice, 'are you rate limited');
    const dm = discord.dmChannelId(alice);
    await discord.waitFor(() => discord.sent(dm).find((m) => m.content.includes('are you rate limited')));
    const posts = discord
      .requests()
      .filter((r) => r.method === 'POST' && r.path === `/channels/${dm}/messages`);
    expect(posts.map((p) => p.status)).toEqual([429, 200]);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(discord.sent(dm).filter((m) => m.content.includes('are you rate limited'))).toHaveLength(1);
  });

  it('answers an attachment it cannot understand with a clear sentence', async () => {
    discord.sendDm(alice, '', [
      { filename: 'report.pdf', contentType: 'application/pdf', data: Buffer.from('%PDF-1.4') },
    ]);
    const dm = discord.dmChannelId(alice);
    const reply = await discord.waitFor(() => discord.sent(dm)[0]);
    expect(reply.content).toBe('I can only understand text and voice or audio messages for now.');
    expect(llmServer.chatRequests()).toHaveLength(0);
  });
});

describe('June on Discord with a standalone worker', () => {
  it('receives in one runtime and answers from a send-only one that never connects to the gateway', async () => {
    const own = await startFakeDiscordServer();
    const bob = own.user('bob');
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: await makeTempDir('june-discord-worker-'),
        discordToken: own.token,
        discordApiBase: own.apiBase,
        allowUsers: [`discord:${bob.id}`],
      },
    });
    const sharedQueue = await openTaskQueue(config);
    const pipeline = await runtime.pipeline.get();
    const holder = fixedPipeline(pipeline);
    // `june start --no-workers`: receives and enqueues, runs nothing
    const receiver = await startChannelRuntime({
      config,
      queue: sharedQueue,
      logger,
      registry: new HandlerRegistry(),
      pipeline: holder,
    });
    // `june worker`: runs the tasks and sends the replies over REST
    const workerRegistry = new HandlerRegistry();
    const sender = await startChannelRuntime({
      config,
      logger,
      registry: workerRegistry,
      receive: false,
      pipeline: holder,
    });
    const pool = await startWorkers({
      queue: sharedQueue,
      config,
      registry: workerRegistry,
      logger,
      metrics: false,
      idlePollMs: 100,
    });
    try {
      expect(own.gateway.connections).toHaveLength(1);
      own.sendDm(bob, 'who answers this');
      const reply = await own.waitFor(() => own.sent(own.dmChannelId(bob))[0], {
        what: 'the worker’s reply',
      });
      expect(reply.content).toContain('You said: who answers this');
      // the worker's adapter never opened a gateway connection
      expect(own.gateway.connections).toHaveLength(1);
      expect(sender.adapters.get('discord')).toBeDefined();
    } finally {
      await pool.stop();
      await sender.stop();
      await receiver.stop();
      await sharedQueue.close();
      await own.close();
    }
  });
});
