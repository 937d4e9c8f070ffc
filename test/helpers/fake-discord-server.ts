/**
 * A local Discord for tests: REST (HTTP) and gateway (WebSocket) on one random loopback port, speaking the
 * real protocols so that discord.js connects to it unchanged (`rest.api` = apiBase; the gateway URL comes
 * from GET /gateway/bot). Tests act as Discord users through the helpers (sendDm, sendGuildMessage,
 * sendVoiceMessage, slashCommand) and inspect what the bot did (sent, typing, commands, requests).
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeDiscordGateway, type GatewaySession } from './fake-discord-gateway.js';
import {
  guildCreateJson,
  IntentBits,
  componentInteractionJson,
  interactionJson,
  MessageFlagBits,
  snowflake,
  userJson,
  type FakeGuild,
  type FakeUser,
  type Json,
} from './fake-discord-objects.js';
import { handleHttp } from './fake-discord-rest.js';
import {
  FakeDiscordState,
  type FakeInteraction,
  type RateLimitScript,
  type RecordedRequest,
  type SentMessage,
} from './fake-discord-state.js';

export type { FakeGuild, FakeUser, Json, SentMessage, RecordedRequest, FakeInteraction, RateLimitScript };

export interface FakeDiscordOptions {
  token?: string;
  botName?: string;
  /** Guilds the bot is in. Default: one guild "June Test" with channels "general" and "random". */
  guilds?: { name: string; channels: string[] }[];
  /** HELLO's heartbeat_interval. Default 41250 ms, as Discord sends. */
  heartbeatIntervalMs?: number;
  /** The MESSAGE_CONTENT privileged intent is enabled in the developer portal. Default true. */
  messageContentIntent?: boolean;
}

export interface AttachmentInput {
  filename: string;
  contentType: string;
  data: Buffer;
  durationSecs?: number;
  waveform?: string;
}

export interface GuildMessageInput {
  user: FakeUser;
  channelId: string;
  content: string;
  /** Prefix the content with an @mention of the bot; 'role': of the bot's managed role instead. */
  mentionBot?: boolean | 'role';
  /** Id of the message (in the same channel) this one replies to. */
  replyTo?: string;
  attachments?: AttachmentInput[];
  flags?: number;
}

export interface FakeDiscordServer {
  /** http://127.0.0.1:PORT */
  origin: string;
  /** The REST base for discord.js's `rest.api` (June's discordApiBase). */
  apiBase: string;
  gatewayUrl: string;
  token: string;
  bot: FakeUser;
  applicationId: string;
  guilds: FakeGuild[];
  state: FakeDiscordState;
  gateway: FakeDiscordGateway;
  user(username: string, opts?: { bot?: boolean; globalName?: string }): FakeUser;
  dmChannelId(user: FakeUser): string;
  sendDm(user: FakeUser, content: string, attachments?: AttachmentInput[]): Json;
  sendGuildMessage(input: GuildMessageInput): Json;
  /** A Discord voice message (the mobile app's hold-to-record): IS_VOICE_MESSAGE, duration and waveform. */
  sendVoiceMessage(user: FakeUser, ogg: Buffer, opts?: { channelId?: string; mentionBot?: boolean }): Json;
  /** Runs a registered slash command as `user` (in their DM with the bot unless channelId is given). */
  slashCommand(
    user: FakeUser,
    name: string,
    options?: Record<string, string>,
    opts?: { channelId?: string },
  ): FakeInteraction;
  /**
   * `user` presses the button with this custom_id under the bot's message: a MESSAGE_COMPONENT
   * interaction, answered through the same callback endpoint as slash commands.
   */
  pressButton(user: FakeUser, channelId: string, messageId: string, customId: string): FakeInteraction;
  /** What the bot posted, oldest first; optionally only in one channel. */
  sent(channelId?: string): SentMessage[];
  /** Edits of the bot's messages, oldest first; optionally only in one channel. */
  edits(channelId?: string): { channelId: string; messageId: string; content: string; at: number }[];
  typing(channelId?: string): { channelId: string; at: number }[];
  commands(): Json[];
  requests(): RecordedRequest[];
  /** The next matching request(s) get 429 with retry_after and the X-RateLimit-* headers. */
  rateLimit(script: RateLimitScript): void;
  expireAttachmentUrls(): void;
  /** Resolves with the probe's first truthy value; rejects after timeoutMs (default 15 s). */
  waitFor<T>(
    probe: () => T | undefined | null | false,
    opts?: { timeoutMs?: number; what?: string },
  ): Promise<T>;
  /** Resolves once a bot has identified and is connected to the gateway. */
  connected(timeoutMs?: number): Promise<GatewaySession>;
  /** Forgets sent messages, typing, requests and unused rate-limit scripts (between tests). */
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeDiscordServer(options: FakeDiscordOptions = {}): Promise<FakeDiscordServer> {
  const state = new FakeDiscordState(options.token ?? fakeToken(), options.botName ?? 'June');
  for (const g of options.guilds ?? [{ name: 'June Test', channels: ['general', 'random'] }])
    state.addGuild(g.name, g.channels);

  const gateway = new FakeDiscordGateway({
    token: () => state.token,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
    messageContentIntent: options.messageContentIntent ?? true,
    resumeUrl: () => state.gatewayUrl,
    readyPayload: () => ({
      ready: {
        user: { ...userJson(state.bot), verified: true, mfa_enabled: false, flags: 0 },
        guilds: state.guilds.map((g) => ({ id: g.id, unavailable: true })),
        private_channels: [],
        relationships: [],
        presences: [],
        application: { id: state.applicationId, flags: 1 << 19 },
        user_settings: {},
        geo_ordered_rtc_regions: [],
        guild_join_requests: [],
      },
      guilds: state.guilds.map((g) => guildCreateJson(g, state.bot, state.owner)),
    }),
    onFrame: () => undefined,
  });
  state.dispatch = (t, d) => {
    if (t !== 'MESSAGE_CREATE') return gateway.dispatch(t, d);
    // the gateway's MESSAGE_CREATE (unlike the REST message object) says what kind of channel it is in
    const channelType = state.channelJson(String(d.channel_id))?.type;
    gateway.dispatch(t, { ...d, channel_type: channelType }, shapeMessage(state));
  };

  const server = http.createServer((req, res) => {
    handleHttp(state, req, res).catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `fake Discord: ${String(err)}`, code: 0 }));
    });
  });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname === '/gateway') gateway.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const userMessage = (
    channelId: string,
    author: FakeUser,
    content: string,
    extra: {
      mentions?: FakeUser[];
      mentionRoles?: string[];
      attachments?: AttachmentInput[];
      flags?: number;
      referenced?: Json;
    },
  ) => {
    const msg = state.addMessage({
      id: snowflake(),
      channelId,
      ...state.guildOf(channelId),
      author,
      content,
      flags: extra.flags ?? 0,
      mentions: extra.mentions ?? [],
      mentionRoles: extra.mentionRoles ?? [],
      attachments: (extra.attachments ?? []).map((a) => ({
        ...state.storeCdnFile(channelId, a.filename, a.contentType, a.data),
        ...(a.durationSecs !== undefined ? { durationSecs: a.durationSecs } : {}),
        ...(a.waveform !== undefined ? { waveform: a.waveform } : {}),
      })),
      ...(extra.referenced ? { referenced: extra.referenced } : {}),
    });
    state.dispatch('MESSAGE_CREATE', msg);
    return msg;
  };

  const fake: FakeDiscordServer = {
    origin: state.origin,
    apiBase: `${state.origin}/api`,
    gatewayUrl: state.gatewayUrl,
    token: state.token,
    bot: state.bot,
    applicationId: state.applicationId,
    guilds: state.guilds,
    state,
    gateway,
    user: (username, opts) => state.addUser(username, opts),
    dmChannelId: (user) => state.dmChannelId(user),
    sendDm: (user, content, attachments) =>
      userMessage(state.dmChannelId(user), user, content, { ...(attachments ? { attachments } : {}) }),
    sendGuildMessage(input) {
      if (!state.channels.get(input.channelId)?.guildId)
        throw new Error(`${input.channelId} is not a guild channel`);
      const referenced = input.replyTo ? state.message(input.channelId, input.replyTo) : undefined;
      if (input.replyTo && !referenced) throw new Error(`no message ${input.replyTo} in ${input.channelId}`);
      const mentions: FakeUser[] = [];
      if (input.mentionBot === true) mentions.push(state.bot);
      const botRoleId = state.guilds.find((g) => g.id === state.guildOf(input.channelId).guildId)!.botRoleId;
      const mention =
        input.mentionBot === 'role' ? `<@&${botRoleId}> ` : input.mentionBot ? `<@${state.bot.id}> ` : '';
      // a reply pings the replied-to author by default, which puts them in `mentions`
      const repliedAuthor = referenced ? state.findUser(String((referenced.author as Json).id)) : undefined;
      if (repliedAuthor && !mentions.includes(repliedAuthor)) mentions.push(repliedAuthor);
      return userMessage(input.channelId, input.user, mention + input.content, {
        mentions,
        ...(input.mentionBot === 'role' ? { mentionRoles: [botRoleId] } : {}),
        ...(input.attachments ? { attachments: input.attachments } : {}),
        ...(input.flags !== undefined ? { flags: input.flags } : {}),
        ...(referenced ? { referenced } : {}),
      });
    },
    sendVoiceMessage(user, ogg, opts = {}) {
      const attachment: AttachmentInput = {
        filename: 'voice-message.ogg',
        contentType: 'audio/ogg',
        data: ogg,
        durationSecs: oggOpusDurationSec(ogg),
        waveform: clientWaveform(ogg),
      };
      const flags = MessageFlagBits.IsVoiceMessage;
      if (!opts.channelId)
        return userMessage(state.dmChannelId(user), user, '', { attachments: [attachment], flags });
      return fake.sendGuildMessage({
        user,
        channelId: opts.channelId,
        content: '',
        ...(opts.mentionBot ? { mentionBot: true } : {}),
        attachments: [attachment],
        flags,
      });
    },
    slashCommand(user, name, options = {}, opts = {}) {
      const command = state.registeredCommands.find((c) => c.name === name);
      if (!command) throw new Error(`/${name} is not a registered application command`);
      const channelId = opts.channelId ?? state.dmChannelId(user);
      const channel = state.channelJson(channelId);
      if (!channel) throw new Error(`unknown channel ${channelId}`);
      const interaction = state.addInteraction(channelId);
      const { guildId } = state.guildOf(channelId);
      state.dispatch(
        'INTERACTION_CREATE',
        interactionJson({
          id: interaction.id,
          token: interaction.token,
          applicationId: state.applicationId,
          commandId: String(command.id),
          name,
          options,
          user,
          channel,
          ...(guildId ? { guildId } : {}),
        }),
      );
      return interaction;
    },
    pressButton(user, channelId, messageId, customId) {
      const message = state.message(channelId, messageId);
      if (!message) throw new Error(`no message ${messageId} in channel ${channelId}`);
      const rows = (message.components as { components?: { custom_id?: string }[] }[] | undefined) ?? [];
      if (!rows.some((r) => r.components?.some((b) => b.custom_id === customId)))
        throw new Error(`message ${messageId} has no button ${customId}`);
      const channel = state.channelJson(channelId);
      if (!channel) throw new Error(`unknown channel ${channelId}`);
      const interaction = state.addInteraction(channelId);
      const { guildId } = state.guildOf(channelId);
      state.dispatch(
        'INTERACTION_CREATE',
        componentInteractionJson({
          id: interaction.id,
          token: interaction.token,
          applicationId: state.applicationId,
          customId,
          user,
          channel,
          message,
          ...(guildId ? { guildId } : {}),
        }),
      );
      return interaction;
    },
    sent: (channelId) => state.sentMessages.filter((m) => !channelId || m.channelId === channelId),
    typing: (channelId) => state.typing.filter((t) => !channelId || t.channelId === channelId),
    commands: () => state.registeredCommands,
    requests: () => state.requests,
    rateLimit: (script) => state.rateLimits.push({ ...script, left: script.times ?? 1 }),
    expireAttachmentUrls: () => state.expireAttachmentUrls(),
    async waitFor(probe, opts = {}) {
      const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
      for (;;) {
        const value = probe();
        if (value) return value;
        if (Date.now() > deadline)
          throw new Error(`fake Discord: timed out waiting for ${opts.what ?? 'a condition'}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    connected: (timeoutMs = 15_000) =>
      fake.waitFor(() => gateway.liveSessions()[0], { timeoutMs, what: 'a gateway session' }),
    edits: (channelId) => state.edits.filter((e) => !channelId || e.channelId === channelId),
    reset() {
      state.sentMessages.length = 0;
      state.edits.length = 0;
      state.typing.length = 0;
      state.requests.length = 0;
      state.rateLimits.length = 0;
      gateway.connections.length = 0;
    },
    async close() {
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}

/** A token shaped like Discord's: base64 user id, timestamp, HMAC. */
function fakeToken(): string {
  const rand = () => Math.random().toString(36).slice(2);
  return `${Buffer.from(snowflake()).toString('base64url')}.${rand().slice(0, 6)}.${rand()}${rand()}`;
}

/**
 * Discord only sends a guild message's content to bots with the MESSAGE_CONTENT intent, unless the bot is
 * mentioned; DMs always carry it. Sessions without GUILD_MESSAGES / DIRECT_MESSAGES get no such events.
 */
function shapeMessage(state: FakeDiscordState) {
  return (session: GatewaySession, d: Json): Json | undefined => {
    const inGuild = typeof d.guild_id === 'string';
    if (!(session.intents & (inGuild ? IntentBits.GuildMessages : IntentBits.DirectMessages)))
      return undefined;
    const mentioned = (d.mentions as Json[]).some((u) => u.id === state.bot.id);
    const ownMessage = (d.author as Json).id === state.bot.id;
    if (inGuild && !(session.intents & IntentBits.MessageContent) && !mentioned && !ownMessage)
      return { ...d, content: '', attachments: [], embeds: [], components: [] };
    return d;
  };
}

/** Length of an OGG/Opus file: the last page's granule position (48 kHz samples) minus the pre-skip. */
export function oggOpusDurationSec(ogg: Buffer): number {
  const last = ogg.lastIndexOf('OggS');
  const head = ogg.indexOf('OpusHead');
  if (last < 0 || head < 0) throw new Error('not an OGG/Opus file');
  const granule = Number(ogg.readBigUInt64LE(last + 6));
  const preSkip = ogg.readUInt16LE(head + 10);
  return Math.round(((granule - preSkip) / 48_000) * 100) / 100;
}

/** What a Discord client puts in `waveform`: base64 amplitude bytes (here a coarse one from the bytes). */
function clientWaveform(ogg: Buffer): string {
  const n = 64;
  const out = Buffer.alloc(n);
  const step = Math.max(1, Math.floor(ogg.length / n));
  for (let i = 0; i < n; i++) out[i] = ogg[i * step] ?? 0;
  return out.toString('base64');
}
