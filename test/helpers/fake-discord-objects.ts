/**
 * JSON shapes of Discord's API objects (users, channels, guilds, messages, attachments, interactions) as
 * the real API and gateway send them, for the fake Discord server. Only the fields discord.js reads are
 * filled in, with the values Discord uses.
 */

/** Discord's epoch (2015-01-01) and snowflake layout: ms since epoch << 22 | worker/process/increment. */
const DISCORD_EPOCH = 1_420_070_400_000n;
let increment = 0n;

export function snowflake(at = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(at) - DISCORD_EPOCH) << 22n) | (1n << 17n) | increment).toString();
}

export const ChannelTypes = { GuildText: 0, DM: 1 } as const;
export const MessageTypes = { Default: 0, Reply: 19, ChatInputCommand: 20 } as const;
export const MessageFlagBits = { Ephemeral: 1 << 6, IsVoiceMessage: 1 << 13 } as const;
export const IntentBits = {
  Guilds: 1 << 0,
  GuildMessages: 1 << 9,
  DirectMessages: 1 << 12,
  MessageContent: 1 << 15,
} as const;

export interface FakeUser {
  id: string;
  username: string;
  globalName?: string;
  bot?: boolean;
}

export interface FakeGuild {
  id: string;
  name: string;
  channels: { id: string; name: string }[];
  /** The managed role Discord creates for a bot that joins (what "@June" in the picker may insert). */
  botRoleId: string;
}

export type Json = Record<string, unknown>;

export function userJson(u: FakeUser): Json {
  return {
    id: u.id,
    username: u.username,
    discriminator: '0',
    global_name: u.globalName ?? null,
    avatar: null,
    ...(u.bot ? { bot: true } : {}),
    public_flags: 0,
  };
}

export function dmChannelJson(id: string, recipient: FakeUser): Json {
  return { id, type: ChannelTypes.DM, last_message_id: null, recipients: [userJson(recipient)], flags: 0 };
}

export function guildChannelJson(guildId: string, ch: { id: string; name: string }, position = 0): Json {
  return {
    id: ch.id,
    type: ChannelTypes.GuildText,
    guild_id: guildId,
    name: ch.name,
    position,
    permission_overwrites: [],
    nsfw: false,
    topic: null,
    last_message_id: null,
    rate_limit_per_user: 0,
    parent_id: null,
    flags: 0,
  };
}

export function memberJson(u: FakeUser, joinedAt: string, roles: string[] = []): Json {
  return { user: userJson(u), roles, joined_at: joinedAt, deaf: false, mute: false, flags: 0 };
}

/** A GUILD_CREATE payload: the guild with its channels, the @everyone role and the bot as a member. */
export function guildCreateJson(g: FakeGuild, bot: FakeUser, owner: FakeUser): Json {
  const joinedAt = new Date().toISOString();
  return {
    id: g.id,
    name: g.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: owner.id,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    // @everyone: view channels, send messages, read history, attach files
    roles: [
      {
        id: g.id,
        name: '@everyone',
        color: 0,
        hoist: false,
        position: 0,
        permissions: String((1 << 10) | (1 << 11) | (1 << 16) | (1 << 15)),
        managed: false,
        mentionable: false,
        flags: 0,
      },
      {
        id: g.botRoleId,
        name: bot.username,
        color: 0,
        hoist: false,
        position: 1,
        permissions: '0',
        managed: true,
        mentionable: false,
        flags: 0,
        tags: { bot_id: bot.id },
      },
    ],
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    preferred_locale: 'en-US',
    public_updates_channel_id: null,
    nsfw_level: 0,
    premium_progress_bar_enabled: false,
    joined_at: joinedAt,
    large: false,
    unavailable: false,
    member_count: 2,
    voice_states: [],
    members: [memberJson(bot, joinedAt, [g.botRoleId]), memberJson(owner, joinedAt)],
    channels: g.channels.map((ch, i) => guildChannelJson(g.id, ch, i)),
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

export interface AttachmentMeta {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  url: string;
  durationSecs?: number;
  waveform?: string;
}

export function attachmentJson(a: AttachmentMeta): Json {
  return {
    id: a.id,
    filename: a.filename,
    size: a.size,
    url: a.url,
    proxy_url: a.url,
    content_type: a.contentType,
    ...(a.durationSecs !== undefined ? { duration_secs: a.durationSecs } : {}),
    ...(a.waveform !== undefined ? { waveform: a.waveform } : {}),
  };
}

export interface MessageSpec {
  id: string;
  channelId: string;
  guildId?: string;
  author: FakeUser;
  content: string;
  mentions?: FakeUser[];
  mentionRoles?: string[];
  attachments?: AttachmentMeta[];
  flags?: number;
  /** The message this one replies to (its JSON, as Discord embeds it). */
  referenced?: Json;
  interaction?: { id: string; name: string; user: FakeUser };
  /** Message components (action rows of buttons) as the bot sent them. */
  components?: Json[];
}

export function messageJson(m: MessageSpec): Json {
  const ref = m.referenced;
  return {
    id: m.id,
    type: ref ? MessageTypes.Reply : m.interaction ? MessageTypes.ChatInputCommand : MessageTypes.Default,
    channel_id: m.channelId,
    ...(m.guildId
      ? {
          guild_id: m.guildId,
          member: { roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 },
        }
      : {}),
    author: userJson(m.author),
    content: m.content,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: (m.mentions ?? []).map(userJson),
    mention_roles: m.mentionRoles ?? [],
    attachments: (m.attachments ?? []).map(attachmentJson),
    embeds: [],
    pinned: false,
    flags: m.flags ?? 0,
    components: m.components ?? [],
    ...(ref
      ? {
          message_reference: {
            type: 0,
            message_id: ref.id,
            channel_id: m.channelId,
            ...(m.guildId ? { guild_id: m.guildId } : {}),
          },
          referenced_message: ref,
        }
      : {}),
    ...(m.interaction
      ? {
          interaction_metadata: {
            id: m.interaction.id,
            type: 2,
            name: m.interaction.name,
            user: userJson(m.interaction.user),
            authorizing_integration_owners: {},
          },
        }
      : {}),
  };
}

export interface InteractionSpec {
  id: string;
  token: string;
  applicationId: string;
  commandId: string;
  name: string;
  options: Record<string, string>;
  user: FakeUser;
  channel: Json;
  guildId?: string;
}

export interface ComponentInteractionSpec {
  id: string;
  token: string;
  applicationId: string;
  customId: string;
  user: FakeUser;
  channel: Json;
  /** The message the pressed button is on, as Discord stores it. */
  message: Json;
  guildId?: string;
}

/** A MESSAGE_COMPONENT interaction: a user pressed a button (component_type 2) under the bot's message. */
export function componentInteractionJson(i: ComponentInteractionSpec): Json {
  const who = i.guildId
    ? {
        guild_id: i.guildId,
        member: {
          ...memberJson(i.user, new Date().toISOString()),
          permissions: String((1 << 10) | (1 << 11)),
        },
      }
    : { user: userJson(i.user) };
  return {
    id: i.id,
    application_id: i.applicationId,
    type: 3,
    data: { custom_id: i.customId, component_type: 2 },
    message: i.message,
    channel_id: i.channel.id,
    channel: i.channel,
    ...who,
    token: i.token,
    version: 1,
    app_permissions: String((1 << 10) | (1 << 11) | (1 << 15)),
    locale: 'en-US',
    ...(i.guildId ? { guild_locale: 'en-US' } : {}),
    entitlements: [],
    authorizing_integration_owners: { 0: i.guildId ?? '0' },
    context: i.guildId ? 0 : 1,
    attachment_size_limit: 10 * 1024 * 1024,
  };
}

/** An APPLICATION_COMMAND interaction for a chat-input (slash) command with string options. */
export function interactionJson(i: InteractionSpec): Json {
  const who = i.guildId
    ? {
        guild_id: i.guildId,
        member: {
          ...memberJson(i.user, new Date().toISOString()),
          permissions: String((1 << 10) | (1 << 11)),
        },
      }
    : { user: userJson(i.user) };
  return {
    id: i.id,
    application_id: i.applicationId,
    type: 2,
    data: {
      id: i.commandId,
      name: i.name,
      type: 1,
      options: Object.entries(i.options).map(([name, value]) => ({ name, type: 3, value })),
    },
    channel_id: i.channel.id,
    channel: i.channel,
    ...who,
    token: i.token,
    version: 1,
    app_permissions: String((1 << 10) | (1 << 11) | (1 << 15)),
    locale: 'en-US',
    ...(i.guildId ? { guild_locale: 'en-US' } : {}),
    entitlements: [],
    authorizing_integration_owners: { 0: i.guildId ?? '0' },
    context: i.guildId ? 0 : 1,
    attachment_size_limit: 10 * 1024 * 1024,
  };
}
