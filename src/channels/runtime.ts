/**
 * Assembles the channel layer for `june start` (receive and send) and `june worker` (send only): the
 * stores, the gateway, the task handlers (returned for `startWorkers`), and an adapter for every platform
 * whose token is configured. Platform modules are imported only when their token is set.
 */
import path from 'node:path';
import type { JuneConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { HandlerRegistry } from '../tasks/handlers.js';
import type { TaskQueue } from '../tasks/types.js';
import type { CodeHandlerOptions } from '../agent/code-handler.js';
import { AUDIO_RETENTION_MS, AudioStore } from './audio-store.js';
import { codeRunRecorder } from './code-history.js';
import { codeReplySender, type SpeakSummary } from './code-reply.js';
import { codeStatusReporter } from './code-status.js';
import { queueDelegation } from './code-tasks.js';
import { ChannelGateway, sendOutcomeReply } from './gateway.js';
import { parkInbound, registerInboundHandler } from './inbound-task.js';
import { wrapPlanRunHandler } from './plan-delivery.js';
import { queuePlanDelegation, type CancelTree } from './plan-tasks.js';
import { pipelineHolder, type PipelineHolder } from './pipeline-holder.js';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from './rate-limit.js';
import { AccessControl } from './store/access.js';
import { ConversationStore } from './store/conversations.js';
import { channelDbFile, openChannelDb, type ChannelDb } from './store/db.js';
import { registerChannelTurnHandler } from './turn-handler.js';
import type { ChannelAdapter } from './types.js';

export interface ChannelRuntimeOptions {
  config: JuneConfig;
  /** Needed to receive (the gateway enqueues); a send-only worker runtime has none. */
  queue?: TaskQueue;
  logger: Logger;
  /** Where to register the task handlers; default: a new registry (returned as `handlers`). */
  registry?: HandlerRegistry;
  /** Adapters to use instead of the configured platforms (tests, the web channel). */
  adapters?: ChannelAdapter[];
  /** Start receiving (false in standalone workers, which only send). Default true. */
  receive?: boolean;
  pipeline?: PipelineHolder;
  /** Cancels a plan tree (the planner's cancelTree), for /cancel; without it /cancel leaves plans alone. */
  cancelPlanTree?: CancelTree;
}

export interface ChannelRuntime {
  /** Present when the runtime has a queue to put received messages on. */
  gateway: ChannelGateway | undefined;
  conversations: ConversationStore;
  access: AccessControl;
  audio: AudioStore;
  adapters: Map<string, ChannelAdapter>;
  pipeline: PipelineHolder;
  /** The channel task handlers, for `startWorkers({ registry: runtime.handlers })`. */
  handlers: HandlerRegistry;
  /**
   * What the coding handler needs of the channels, for `createCodeHandler({ …, ...runtime.codeHooks })`:
   * a chat's live status message, the reply (text, voice note when the user spoke, the diff), and the
   * run's outcome kept in the chat's conversation.
   */
  codeHooks: Pick<CodeHandlerOptions, 'reply' | 'status' | 'record'>;
  /**
   * Wraps the planner's plan.run handler so a plan asked for in a chat shows there: its status message,
   * the plan with an approve button, the answer (spoken too when asked by voice) and the files.
   */
  wrapPlanRun: <H extends Parameters<typeof wrapPlanRunHandler>[0]>(inner: H) => H;
  /** Adds an adapter (e.g. the web channel) and starts receiving on it. */
  addAdapter(adapter: ChannelAdapter): Promise<void>;
  stop(): Promise<void>;
}

/** How often old reply audio is looked for. */
const AUDIO_SWEEP_MS = 3_600_000;

/** Adapters for every platform whose token is configured. */
export async function configuredAdapters(config: JuneConfig, logger: Logger): Promise<ChannelAdapter[]> {
  const out: ChannelAdapter[] = [];
  if (config.telegramToken) {
    const { createTelegramAdapter } = await import('./telegram/telegram-adapter.js');
    out.push(createTelegramAdapter(config, logger));
  }
  if (config.discordToken) {
    const { createDiscordAdapter } = await import('./discord/discord-adapter.js');
    out.push(await createDiscordAdapter(config, logger));
  }
  return out;
}

async function rateLimiter(
  config: JuneConfig,
): Promise<{ limiter: RateLimiter; close: () => Promise<void> }> {
  const opts = { perMinute: config.rateLimitPerMinute, burst: config.rateLimitBurst };
  if (config.queue !== 'bullmq')
    return { limiter: new MemoryRateLimiter(opts), close: async () => undefined };
  const { Redis } = await import('ioredis');
  const redis = new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
  return { limiter: new RedisRateLimiter(redis, opts), close: async () => void redis.disconnect() };
}

export async function startChannelRuntime(options: ChannelRuntimeOptions): Promise<ChannelRuntime> {
  const { config, queue, logger } = options;
  const db: ChannelDb = openChannelDb(channelDbFile(config.dataDir));
  const conversations = new ConversationStore(db);
  const access = AccessControl.fromConfig(db, config);
  const audio = new AudioStore(path.join(config.dataDir, 'audio'));
  // old replies and their sentence clips go with their tasks: at start, then every hour
  const sweepAudio = () =>
    void audio
      .sweep(AUDIO_RETENTION_MS)
      .then((n) => n > 0 && logger.info({ files: n }, 'removed old reply audio'))
      .catch((err: unknown) => logger.warn({ err: String(err) }, 'could not remove old reply audio'));
  sweepAudio();
  const audioSweeper = setInterval(sweepAudio, AUDIO_SWEEP_MS);
  audioSweeper.unref();
  const rl = await rateLimiter(config);
  const gateway = queue
    ? new ChannelGateway({
        queue,
        access,
        conversations,
        rateLimiter: rl.limiter,
        allowGroups: config.allowGroups,
        logger,
        ...(options.cancelPlanTree ? { cancelPlanTree: options.cancelPlanTree } : {}),
      })
    : undefined;
  const pipeline = options.pipeline ?? pipelineHolder(config, logger);
  const adapters = new Map<string, ChannelAdapter>();
  const handlers = options.registry ?? new HandlerRegistry();
  registerChannelTurnHandler(handlers, {
    pipeline: () => pipeline.get(),
    conversations,
    audio,
    adapter: (name) => adapters.get(name),
    historyMaxTokens: config.historyMaxTokens,
    historyTurns: config.historyTurns,
    defaultVoiceMode: config.voiceReplies,
    // the web page (channel "web") plays a reply sentence by sentence while it is being spoken
    sentenceClips: (channel) => channel === 'web',
    ...(queue
      ? {
          delegate: queueDelegation(queue, config.agentChatDelegate),
          planner: queuePlanDelegation(queue, config.plannerChatTool),
        }
      : {}),
  });
  registerInboundHandler(handlers, {
    adapter: (name) => adapters.get(name),
    gateway: () => gateway,
  });

  const adapterOf = (name: string) => adapters.get(name);
  const speak: SpeakSummary = async (text, o) => {
    const audio = await (await pipeline.get()).speakText(text, o);
    return audio && { data: audio.data, mimeType: audio.mimeType, durationSec: audio.durationSec };
  };
  const codeHooks = {
    reply: codeReplySender(adapterOf, logger, speak),
    status: codeStatusReporter(adapterOf, { logger, editIntervalMs: config.agentStatusEditMs }),
    record: codeRunRecorder(conversations),
  };

  const wrapPlanRun = <H extends Parameters<typeof wrapPlanRunHandler>[0]>(inner: H): H =>
    wrapPlanRunHandler(inner, {
      adapter: adapterOf,
      logger,
      speak,
      editIntervalMs: config.agentStatusEditMs,
      conversations,
    }) as H;

  const receive = (options.receive ?? true) && gateway !== undefined;
  const addAdapter = async (adapter: ChannelAdapter) => {
    adapters.set(adapter.name, adapter);
    if (receive && gateway && queue) {
      await adapter.start(async (msg) => {
        await sendOutcomeReply(await gateway.accept(msg, adapter), msg, adapter, logger);
      }, parkInbound(queue));
      logger.info({ channel: adapter.name }, 'channel started');
    }
  };
  for (const adapter of options.adapters ?? (await configuredAdapters(config, logger)))
    await addAdapter(adapter);

  return {
    gateway,
    conversations,
    access,
    audio,
    adapters,
    pipeline,
    handlers,
    codeHooks,
    wrapPlanRun,
    addAdapter,
    async stop() {
      clearInterval(audioSweeper);
      await Promise.allSettled([...adapters.values()].map((a) => a.stop()));
      await rl.close();
      await pipeline.close();
      db.close();
    },
  };
}
