/**
 * What the fake Discord server knows: the bot and its application, users, guilds and channels, every
 * message, the files behind attachment URLs, interactions, registered commands, and what the bot sent.
 * Also the scripted rate limits (429 with Discord's headers) and a record of every HTTP request.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  dmChannelJson,
  guildChannelJson,
  messageJson,
  snowflake,
  type AttachmentMeta,
  type FakeGuild,
  type FakeUser,
  type Json,
  type MessageSpec,
} from './fake-discord-objects.js';

export interface SentFile {
  field: string;
  name: string;
  contentType: string;
  data: Buffer;
}

/** A message the bot posted: to a channel, as an interaction response, or as an interaction follow-up. */
export interface SentMessage {
  id: string;
  channelId: string;
  via: 'message' | 'interaction' | 'followup';
  content: string;
  flags: number;
  /** Attachment objects as Discord stored them (filename, content_type, size, duration_secs, waveform). */
  attachments: Json[];
  files: SentFile[];
  /** message_reference.message_id of the request. */
  replyTo: string | undefined;
  /** The JSON payload as sent (payload_json for multipart). */
  payload: Json;
  interactionId?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

export interface RateLimitScript {
  method?: string;
  /** Matched against the route path, e.g. /channels/123/messages. */
  path: RegExp;
  /** How many requests get a 429 (default 1). */
  times?: number;
  /** Seconds in the body's retry_after and (rounded up) the Retry-After header. Default 1. */
  retryAfterSec?: number;
  global?: boolean;
}

export interface FakeInteraction {
  id: string;
  token: string;
  channelId: string;
  responded: boolean;
}

interface ChannelRecord {
  json: Json;
  guildId?: string;
}

export class FakeDiscordState {
  readonly applicationId = snowflake();
  readonly bot: FakeUser;
  readonly owner: FakeUser;
  readonly users = new Map<string, FakeUser>();
  readonly guilds: FakeGuild[] = [];
  readonly channels = new Map<string, ChannelRecord>();
  readonly dmChannels = new Map<string, string>();
  readonly messages = new Map<string, Json[]>();
  readonly interactions = new Map<string, FakeInteraction>();
  registeredCommands: Json[] = [];
  readonly sentMessages: SentMessage[] = [];
  /** Edits of the bot's messages (PATCH), oldest first. */
  readonly edits: { channelId: string; messageId: string; content: string; at: number }[] = [];
  readonly typing: { channelId: string; at: number }[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly rateLimits: (RateLimitScript & { left: number })[] = [];
  private readonly cdn = new Map<string, { data: Buffer; contentType: string; signature: string }>();
  origin = '';
  /** Sends a gateway event to the bot (set by the server). */
  dispatch: (t: string, d: Json) => void = () => undefined;

  constructor(
    public token: string,
    botName: string,
  ) {
    this.bot = { id: snowflake(), username: botName, bot: true };
    this.owner = this.addUser('owner');
  }

  get gatewayUrl(): string {
    return `${this.origin.replace(/^http/, 'ws')}/gateway`;
  }

  addUser(username: string, opts: { bot?: boolean; globalName?: string } = {}): FakeUser {
    const user: FakeUser = { id: snowflake(), username, ...opts };
    this.users.set(user.id, user);
    return user;
  }

  findUser(id: string): FakeUser | undefined {
    return id === this.bot.id ? this.bot : this.users.get(id);
  }

  addGuild(name: string, channelNames: string[]): FakeGuild {
    const guild: FakeGuild = {
      id: snowflake(),
      name,
      channels: channelNames.map((n) => ({ id: snowflake(), name: n })),
      botRoleId: snowflake(),
    };
    this.guilds.push(guild);
    guild.channels.forEach((ch, i) =>
      this.channels.set(ch.id, { json: guildChannelJson(guild.id, ch, i), guildId: guild.id }),
    );
    return guild;
  }

  /** The DM channel between the bot and `user` (created on first use, as Discord does). */
  dmChannelId(user: FakeUser): string {
    let id = this.dmChannels.get(user.id);
    if (!id) {
      id = snowflake();
      this.dmChannels.set(user.id, id);
      this.channels.set(id, { json: dmChannelJson(id, user) });
    }
    return id;
  }

  channelJson(id: string): Json | undefined {
    return this.channels.get(id)?.json;
  }

  guildOf(channelId: string): { guildId?: string } {
    const guildId = this.channels.get(channelId)?.guildId;
    return guildId ? { guildId } : {};
  }

  addMessage(spec: MessageSpec): Json {
    const msg = messageJson(spec);
    const list = this.messages.get(spec.channelId) ?? [];
    list.push(msg);
    this.messages.set(spec.channelId, list);
    return msg;
  }

  message(channelId: string, id: string): Json | undefined {
    return this.messages.get(channelId)?.find((m) => m.id === id);
  }

  /** Keeps a file on the fake CDN and returns its attachment fields (a signed, expiring URL). */
  storeCdnFile(channelId: string, filename: string, contentType: string, data: Buffer): AttachmentMeta {
    const id = snowflake();
    const path = `/attachments/${channelId}/${id}/${filename}`;
    const signature = randomBytes(8).toString('hex');
    this.cdn.set(path, { data, contentType, signature });
    return { id, filename, contentType, size: data.length, url: this.cdnUrl(path, signature) };
  }

  private cdnUrl(path: string, signature: string): string {
    const ex = Math.floor(Date.now() / 1000 + 86_400).toString(16);
    return `${this.origin}${path}?ex=${ex}&is=${ex}&hm=${signature}&`;
  }

  cdnFile(url: URL): { data: Buffer; contentType: string } | undefined {
    const file = this.cdn.get(url.pathname);
    return file && url.searchParams.get('hm') === file.signature ? file : undefined;
  }

  /** Every attachment URL handed out so far stops working (Discord's signed URLs expire after a day). */
  expireAttachmentUrls(): void {
    for (const file of this.cdn.values()) file.signature = randomBytes(8).toString('hex');
  }

  refreshUrl(original: string): string {
    const path = new URL(original).pathname;
    const file = this.cdn.get(path);
    return file ? this.cdnUrl(path, file.signature) : original;
  }

  typingIn(channelId: string): void {
    this.typing.push({ channelId, at: Date.now() });
  }

  setCommands(body: unknown): Json[] {
    this.registeredCommands = (body as Json[]).map((c) => ({
      ...c,
      id: snowflake(),
      application_id: this.applicationId,
      version: snowflake(),
      type: c.type ?? 1,
    }));
    return this.registeredCommands;
  }

  addInteraction(channelId: string): FakeInteraction {
    const interaction = {
      id: snowflake(),
      token: `aW50ZXJhY3Rpb246${randomBytes(24).toString('base64url')}`,
      channelId,
      responded: false,
    };
    this.interactions.set(interaction.token, interaction);
    return interaction;
  }

  interactionByToken(token: string): FakeInteraction | undefined {
    return this.interactions.get(token);
  }

  recordSent(sent: SentMessage): void {
    this.sentMessages.push(sent);
  }

  record(r: Omit<RecordedRequest, 'at'>): void {
    this.requests.push({ ...r, at: Date.now() });
  }

  /** The 429 response for this request when a script asks for one. */
  scriptedRateLimit(
    method: string,
    path: string,
  ): { status: number; body: Json; headers: Record<string, string> } | undefined {
    const script = this.rateLimits.find(
      (s) => s.left > 0 && (!s.method || s.method === method) && s.path.test(path),
    );
    if (!script) return undefined;
    script.left--;
    const retryAfter = script.retryAfterSec ?? 1;
    return {
      status: 429,
      body: {
        message: 'You are being rate limited.',
        retry_after: retryAfter,
        global: Boolean(script.global),
      },
      headers: {
        'retry-after': String(Math.ceil(retryAfter)),
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Date.now() / 1000 + retryAfter),
        'x-ratelimit-reset-after': String(retryAfter),
        'x-ratelimit-bucket': 'fake-limited-bucket',
        'x-ratelimit-scope': script.global ? 'global' : 'user',
        ...(script.global ? { 'x-ratelimit-global': 'true' } : {}),
      },
    };
  }
}
