/**
 * The Discord channel, on discord.js. Creating it connects nothing: sending (text, voice messages, typing,
 * downloads) goes over the REST API alone, which is all a standalone worker needs. `start` logs in to the
 * gateway with the intents June needs (Guilds, GuildMessages, DirectMessages and the privileged
 * MessageContent), registers the slash commands, and hands every message and slash command to the channel
 * gateway, one at a time per chat so that a conversation's messages are enqueued in the order sent.
 *
 * Discord does not redeliver gateway events, so a message is only safe once `onMessage` has made it a
 * durable task. When that fails, the message is parked as a task (inbound-task.ts) that takes it in again
 * and can be redriven; only when parking fails too (or for a slash command, whose answer cannot wait) is
 * the user asked to send it again rather than left without an answer.
 */
import type {
  ButtonInteraction,
  Client,
  ChatInputCommandInteraction,
  Interaction,
  Message,
} from 'discord.js';
import type { JuneConfig } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import { withSpan } from '../../observability/tracing.js';
import { ChannelError } from '../errors.js';
import type { ParkInbound } from '../inbound-task.js';
import type {
  Activity,
  ChannelAdapter,
  ChannelLimits,
  Choice,
  InboundAttachment,
  InboundMessage,
  OutboundDocument,
  ReplyTarget,
  VoiceNote,
} from '../types.js';
import { DiscordSender, type DiscordJs } from './discord-sender.js';
import { buttonToInbound, DISCORD_CHANNEL, interactionToInbound, toInboundMessage } from './inbound.js';
import { SLASH_COMMANDS } from './slash-commands.js';

/** Discord's attachment limit for bots without boosts is 25 MB; June never needs more for speech. */
const DISCORD_MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024;
const BAD_TOKEN = 'Discord rejected the bot token. Check discordToken (JUNE_DISCORD_TOKEN).';
/** Gateway close codes after which discord.js gives up, with what the owner should do about them. */
const FATAL_CLOSE_CODES: Record<number, string> = {
  4004: `${BAD_TOKEN} (gateway close 4004)`,
  4010: 'Discord refused the shard configuration (gateway close 4010).',
  4011: 'The bot is in too many servers for one connection (gateway close 4011).',
  4012: 'Discord refused the gateway version (gateway close 4012).',
  4013: 'Discord refused the intents (gateway close 4013).',
  4014:
    'Discord refused the MESSAGE CONTENT intent (gateway close 4014). Enable it in the Developer Portal: ' +
    'your application → Bot → Privileged Gateway Intents → Message Content Intent.',
};
const NOT_ANSWERED = "I can't answer that here. Send me a direct message instead.";
const NOT_ACCEPTED = "Sorry, I couldn't take that message just now. Please send it again.";

export async function createDiscordAdapter(config: JuneConfig, logger: Logger): Promise<ChannelAdapter> {
  if (!config.discordToken)
    throw new ChannelError(DISCORD_CHANNEL, 'discordToken is not set', { retryable: false });
  const djs = await import('discord.js');
  return new DiscordAdapter(djs, config, config.discordToken, logger.child({ channel: DISCORD_CHANNEL }));
}

class DiscordAdapter implements ChannelAdapter {
  readonly name = DISCORD_CHANNEL;
  readonly limits: ChannelLimits;
  private readonly client: Client;
  private readonly sender: DiscordSender;
  private onMessage: ((msg: InboundMessage) => Promise<void>) | undefined;
  private park: ParkInbound | undefined;
  /** The last delivery per chat: the next one waits for it. */
  private readonly chains = new Map<string, Promise<void>>();
  private started = false;

  constructor(
    private readonly djs: DiscordJs,
    config: JuneConfig,
    private readonly token: string,
    private readonly logger: Logger,
  ) {
    this.limits = {
      maxTextLength: 2000,
      // voice messages cannot have text: the reply text always goes as its own messages
      maxCaptionLength: 0,
      maxDownloadBytes: Math.min(DISCORD_MAX_DOWNLOAD_BYTES, config.audioMaxBytes),
    };
    const { Client, GatewayIntentBits, Partials, SimpleShardingStrategy } = djs;
    const gatewayUrl = config.discordGatewayUrl;
    this.client = new Client({
      intents: [
        GatewayIntentBits.Guilds,
        GatewayIntentBits.GuildMessages,
        GatewayIntentBits.DirectMessages,
        GatewayIntentBits.MessageContent,
      ],
      // DM channels are not cached before their first message; without this their messages are dropped
      partials: [Partials.Channel],
      rest: {
        api: config.discordApiBase,
        // 429s on sends surface as errors: the delivery layer waits them out under its own limits
        rejectOnRateLimit: ['/channels', '/interactions', '/webhooks'],
      },
      ...(gatewayUrl
        ? {
            ws: {
              buildStrategy: (manager) => {
                // keep asking GET /gateway/bot (shard count, session limits) but connect where configured
                const fetchInfo = manager.fetchGatewayInformation.bind(manager);
                manager.fetchGatewayInformation = async (force?: boolean) => ({
                  ...(await fetchInfo(force)),
                  url: gatewayUrl,
                });
                return new SimpleShardingStrategy(manager);
              },
            },
          }
        : {}),
    });
    // sending works without logging in
    this.client.rest.setToken(token);
    this.sender = new DiscordSender(djs, this.client.rest, this.logger, this.limits.maxDownloadBytes);
  }

  async start(onMessage: (msg: InboundMessage) => Promise<void>, park?: ParkInbound): Promise<void> {
    if (this.started) throw new Error('the Discord adapter is already started');
    this.started = true;
    this.onMessage = onMessage;
    this.park = park;
    const { Events } = this.djs;
    const client = this.client;
    client.on(Events.MessageCreate, (m) => this.onDiscordMessage(m));
    client.on(Events.InteractionCreate, (i) => this.onInteraction(i));
    client.on(Events.Error, (err) => this.logger.error({ err: err.message }, 'Discord client error'));
    client.on(Events.Warn, (w) => this.logger.warn({ warning: w }, 'Discord client warning'));
    client.on(Events.ShardDisconnect, (e) => {
      // discord.js reconnects by itself unless the close code is fatal (token reset, intent revoked)
      const fatal = FATAL_CLOSE_CODES[e.code];
      if (fatal) this.logger.error({ code: e.code }, `Discord gateway closed for good: ${fatal}`);
      else this.logger.warn({ code: e.code }, 'Discord gateway disconnected');
    });
    client.on(Events.ShardResume, () => this.logger.info('Discord gateway connection resumed'));
    // discord.js retries a lost gateway by itself, silently: say so, with the count since the last READY
    let reconnects = 0;
    client.on(Events.ShardReconnecting, (shard) =>
      this.logger.warn({ shard, attempt: ++reconnects }, 'Discord gateway reconnecting'),
    );
    client.on(Events.ShardReady, () => (reconnects = 0));
    client.on(Events.ShardResume, () => (reconnects = 0));
    client.on(Events.ShardError, (err) => this.logger.warn({ err: String(err) }, 'Discord gateway error'));

    await this.login();
    const user = client.user;
    this.logger.info(
      { bot: user?.tag, botId: user?.id, guilds: client.guilds.cache.size },
      'connected to Discord',
    );
    await this.registerCommands();
  }

  /** Logs in and waits for READY (and the guilds), failing clearly on a bad token or refused intents. */
  private async login(): Promise<void> {
    const { Events } = this.djs;
    const client = this.client;
    let onFatal: ((e: { code: number }) => void) | undefined;
    const fatal = new Promise<never>((_, reject) => {
      onFatal = (e) => {
        const why = FATAL_CLOSE_CODES[e.code];
        if (why) reject(new ChannelError(DISCORD_CHANNEL, why, { retryable: false }));
      };
      client.on(Events.ShardDisconnect, onFatal);
    });
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    try {
      await Promise.race([client.login(this.token).then(() => ready), fatal]);
    } catch (err) {
      await client.destroy().catch(() => undefined);
      if (err instanceof ChannelError) throw err;
      // GET /gateway/bot answered 401
      if ((err as { code?: string }).code === 'TokenInvalid')
        throw new ChannelError(DISCORD_CHANNEL, BAD_TOKEN, { retryable: false });
      throw this.sender.translate('connect to Discord', err);
    } finally {
      if (onFatal) client.off(Events.ShardDisconnect, onFatal);
    }
  }

  private async registerCommands(): Promise<void> {
    const appId = this.client.application?.id;
    if (!appId) return;
    try {
      await this.client.rest.put(this.djs.Routes.applicationCommands(appId), { body: SLASH_COMMANDS });
      this.logger.debug({ commands: SLASH_COMMANDS.map((c) => c.name) }, 'slash commands registered');
    } catch (err) {
      // messages still work; only the command picker is missing
      this.logger.warn(
        { err: this.sender.translate('register slash commands', err).message },
        'no slash commands',
      );
    }
  }

  private onDiscordMessage(message: Message): void {
    const botId = this.client.user?.id;
    if (!botId) return;
    const msg = toInboundMessage(message, botId);
    if (msg) this.deliverInOrder(msg);
  }

  /** A parked message is stored as June read it. */
  readInbound(raw: unknown): InboundMessage | undefined {
    return raw as InboundMessage;
  }

  private onInteraction(interaction: Interaction): void {
    if (!interaction.isChatInputCommand() && !interaction.isButton()) return;
    const msg = interaction.isButton() ? buttonToInbound(interaction) : interactionToInbound(interaction);
    const pending = {
      id: interaction.id,
      token: interaction.token,
      applicationId: interaction.applicationId,
      ephemeral: interaction.inGuild(),
      replied: false,
    };
    this.sender.interactions.set(msg.messageId, pending);
    this.deliverInOrder(msg, { parkable: false }, async () => {
      try {
        // the gateway stays silent for channels June is not enabled in; Discord still wants an answer
        if (!pending.replied) await this.sender.answerInteraction(pending, NOT_ANSWERED);
      } catch (err) {
        this.logger.warn(
          { err: String(err), command: describeCommand(interaction) },
          'slash command not answered',
        );
      } finally {
        this.sender.interactions.delete(msg.messageId);
      }
    });
  }

  private deliverInOrder(
    msg: InboundMessage,
    options: { parkable: boolean } = { parkable: true },
    after?: () => Promise<void>,
  ): void {
    const key = msg.chatId;
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        await this.deliver(msg, options.parkable);
        await after?.();
      })
      .catch((err: unknown) => this.logger.error({ err: String(err) }, 'Discord message handling failed'));
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  private async deliver(msg: InboundMessage, parkable: boolean): Promise<void> {
    const target = {
      channel: msg.channel,
      chatId: msg.chatId,
      userId: msg.userId,
      replyToMessageId: msg.messageId,
    };
    try {
      // one span per message: the root of its trace
      await withSpan('discord.message', { 'discord.message_id': msg.messageId }, () => this.onMessage!(msg));
    } catch (err) {
      const where = { err: String(err), chatId: msg.chatId, messageId: msg.messageId };
      if (parkable && this.park) {
        try {
          await this.park({
            channel: DISCORD_CHANNEL,
            updateId: msg.messageId,
            raw: msg,
            error: String(err),
            attempts: 1,
            target,
          });
          this.logger.warn(where, 'message not accepted; parked as a task to take it in again');
          return;
        } catch (parkErr) {
          this.logger.error({ ...where, parkErr: String(parkErr) }, 'message not accepted, nor parked');
        }
      } else {
        this.logger.error(where, 'message not accepted');
      }
      await this.sender.sendText(target, NOT_ACCEPTED).catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.client.removeAllListeners();
    // let messages being accepted become tasks before the connection goes
    await Promise.race([
      Promise.allSettled([...this.chains.values()]),
      new Promise((resolve) => setTimeout(resolve, 5000).unref()),
    ]);
    await this.client.destroy();
  }

  download(attachment: InboundAttachment, signal?: AbortSignal): Promise<Buffer> {
    return this.sender.download(attachment, signal);
  }

  sendText(target: ReplyTarget, text: string): Promise<void> {
    return this.sender.sendText(target, text);
  }

  sendVoice(target: ReplyTarget, voice: VoiceNote, caption?: string): Promise<void> {
    return this.sender.sendVoice(target, voice, caption);
  }

  sendDocument(target: ReplyTarget, doc: OutboundDocument, caption?: string): Promise<void> {
    return this.sender.sendDocument(target, doc, caption);
  }

  sendEditableText(target: ReplyTarget, text: string): Promise<string> {
    return this.sender.sendEditableText(target, text);
  }

  editText(target: ReplyTarget, messageId: string, text: string): Promise<void> {
    return this.sender.editText(target, messageId, text);
  }

  sendChoice(target: ReplyTarget, text: string, choices: Choice[]): Promise<string> {
    return this.sender.sendChoice(target, text, choices);
  }

  /** Discord has only "typing…"; it shows for ten seconds or until the bot's next message. */
  sendActivity(target: ReplyTarget, _activity: Activity): Promise<void> {
    return this.sender.sendTyping(target);
  }
}

function describeCommand(i: ChatInputCommandInteraction | ButtonInteraction): string {
  return i.isButton() ? `button ${i.customId}` : `/${i.commandName}`;
}
