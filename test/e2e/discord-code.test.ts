/**
 * A coding run from a Discord DM, end to end: the local Discord (REST + gateway) that discord.js really
 * connects to, June's channel runtime with the Discord adapter from the config, the SQLite queue, workers
 * serving `code`, the scripted OpenAI-compatible model and real bubblewrap. `/code` gets one status
 * message edited in place (PATCH) through the steps to the final state, then the summary and the diff
 * file; `/cancel` with nothing running says so.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODE_CAPABILITY, CODE_TASK_KIND, createCodeHandler } from '../../src/agent/code-handler.js';
import { fixedPipeline } from '../../src/channels/pipeline-holder.js';
import { startChannelRuntime, type ChannelRuntime } from '../../src/channels/runtime.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { voiceMetrics } from '../../src/observability/metrics.js';
import { VoicePipeline } from '../../src/pipeline/voice-pipeline.js';
import { OpenAiLanguageModel } from '../../src/providers/llm/openai.js';
import { PocketsphinxSpeechToText } from '../../src/providers/stt/pocketsphinx.js';
import { EspeakTextToSpeech } from '../../src/providers/tts/espeak.js';
import { checkBubblewrap } from '../../src/sandbox/factory.js';
import { HandlerRegistry } from '../../src/tasks/handlers.js';
import { openTaskQueue } from '../../src/tasks/open-queue.js';
import { startWorkers, type WorkerPool } from '../../src/tasks/runtime.js';
import type { TaskQueue } from '../../src/tasks/types.js';
import { nativeCalls } from '../helpers/fake-agent-scripts.js';
import {
  startFakeDiscordServer,
  type FakeDiscordServer,
  type FakeUser,
} from '../helpers/fake-discord-server.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { makeTempDir } from '../helpers/speech-fixtures.js';

const bwrap = await checkBubblewrap();
const logger = createLogger('silent');

let discord: FakeDiscordServer;
let llm: FakeOpenAiServer;
let stt: PocketsphinxSpeechToText;
let queue: TaskQueue;
let runtime: ChannelRuntime;
let workers: WorkerPool;
let alice: FakeUser;

beforeAll(async () => {
  if (!bwrap.ok) return;
  const dir = await makeTempDir('june-discord-code-');
  discord = await startFakeDiscordServer();
  llm = await startFakeOpenAiServer();
  alice = discord.user('alice');
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: dir,
      discordToken: discord.token,
      discordApiBase: discord.apiBase,
      allowUsers: [`discord:${alice.id}`],
      llmBaseUrl: llm.url,
      llmModel: 'june-test-model',
      sandbox: 'bubblewrap',
      agentStatusEditMs: 0,
      taskLeaseMs: 5000,
    },
  });
  stt = new PocketsphinxSpeechToText({ logger });
  const pipeline = new VoicePipeline({
    stt,
    llm: new OpenAiLanguageModel({ baseUrl: llm.url, model: 'june-test-model', logger }),
    tts: new EspeakTextToSpeech({ logger }),
    config,
    logger,
    metrics: voiceMetrics(new Registry()),
  });
  queue = await openTaskQueue(config);
  const registry = new HandlerRegistry();
  runtime = await startChannelRuntime({ config, queue, logger, registry, pipeline: fixedPipeline(pipeline) });
  const code = await createCodeHandler({ config, logger, ...runtime.codeHooks });
  if (!code) throw new Error('no working sandbox here');
  registry.register(CODE_TASK_KIND, CODE_CAPABILITY, code);
  workers = await startWorkers({
    queue,
    config,
    registry,
    logger,
    metrics: false,
    idlePollMs: 100,
    capabilities: ['voice', 'chat', CODE_CAPABILITY],
  });
});

afterAll(async () => {
  await workers?.stop();
  await runtime?.stop();
  await queue?.close();
  await stt?.close();
  await llm?.close();
  await discord?.close();
});

describe.skipIf(!bwrap.ok)('a coding run from Discord', () => {
  it('edits one status message through the steps, then sends the summary and the diff file', async () => {
    const dm = discord.dmChannelId(alice);
    discord.sendDm(alice, '/cancel');
    await discord.waitFor(() => discord.sent(dm).some((m) => m.content === 'Nothing to cancel.'), {
      what: 'the nothing-to-cancel answer',
    });

    llm.enqueue(
      nativeCalls([{ name: 'write_file', args: { path: 'hi.sh', content: 'echo hi\n' } }]),
      nativeCalls([{ name: 'finish', args: { summary: 'Wrote hi.sh.' } }]),
    );
    discord.sendDm(alice, '/code write a script that prints hi');
    const file = await discord.waitFor(() => discord.sent(dm).find((m) => m.files.length > 0), {
      timeoutMs: 60_000,
      what: 'the diff file',
    });
    expect(file.files[0]!.name).toMatch(/\.diff$/);
    expect(file.files[0]!.data.toString()).toContain('+echo hi');
    expect(discord.sent(dm).map((m) => m.content)).toContain('Done after 2 steps.\nWrote hi.sh.');

    const status = discord.sent(dm).filter((m) => m.content.startsWith('Coding task: '));
    expect(status).toHaveLength(1);
    await discord.waitFor(() => discord.edits(dm).at(-1)?.content === 'Coding task: done after 2 steps.', {
      what: 'the final state',
    });
    const edits = discord.edits(dm);
    expect(new Set(edits.map((e) => e.messageId))).toEqual(new Set([status[0]!.id]));
    expect(edits.some((e) => e.content.startsWith('Coding task: step 1: '))).toBe(true);
    expect(discord.state.message(dm, status[0]!.id)?.content).toBe('Coding task: done after 2 steps.');
  });
});
