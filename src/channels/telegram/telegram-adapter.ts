/**
 * Telegram through the Bot API (grammY's Api client, against `telegramApiRoot`: api.telegram.org or a
 * self-hosted telegram-bot-api). Creating the adapter contacts nothing, so send-only workers and
 * `june pairing approve` can use it; `start()` asks getMe who the bot is, publishes the commands menu and
 * receives updates by long polling (default) or by webhook when `telegramWebhookUrl` is set. What goes
 * out (text, voice notes, indicators) and downloads are telegram-sender.ts's.
 *
 * Either way an update is acknowledged only once June's handler resolved (the task is on disk): see
 * telegram-polling.ts and telegram-webhook.ts. An update whose intake fails `inboundMaxAttempts` times is
 * parked as a task (inbound-task.ts), so its chat goes on and the update can be redriven.
 */
import type { Update } from 'grammy/types';
import type { JuneConfig } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import { withSpan } from '../../observability/tracing.js';
import { sleep } from '../../util/abort.js';
import { COMMANDS } from '../commands.js';
import { ChannelError } from '../errors.js';
import { withParking, type ParkInbound } from '../inbound-task.js';
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
import { describeRedacted } from './telegram-errors.js';
import { callbackToInbound, TELEGRAM, toInboundMessage, type BotIdentity } from './telegram-message.js';
import { UpdatePoller } from './telegram-polling.js';
import { grammySignal, TelegramSender } from './telegram-sender.js';
import {
  startWebhookListener,
  webhookAddress,
  webhookSecret,
  type WebhookListener,
} from './telegram-webhook.js';

export type TelegramConfig = Pick<
  JuneConfig,
  | 'telegramToken'
  | 'telegramApiRoot'
  | 'telegramWebhookUrl'
  | 'telegramMaxDownloadBytes'
  | 'httpHost'
  | 'inboundMaxAttempts'
>;

/** Messages, and presses of the buttons under June's messages (a plan's "Run the plan"). */
const ALLOWED_UPDATES: ('message' | 'callback_query')[] = ['message', 'callback_query'];

/** What a parked Telegram update keeps: the update, and the bot it was sent to (to read mentions). */
interface ParkedUpdate {
  update: Update;
  bot: BotIdentity;
}

export interface TelegramAdapterOptions {
  /** Long-poll timeout in seconds (default 30; Telegram allows up to 50). */
  pollTimeoutSec?: number;
  /** First backoff after a failed poll or a failed handler (default 1 s, doubling to 30 s). */
  retryDelayMs?: number;
  /** Webhook mode: local port (default: the webhook URL's port, else 8443; 0 picks a free one). */
  webhookPort?: number;
  /** Webhook mode: local address (default: httpHost). */
  webhookHost?: string;
}

interface Receive {
  onMessage: (msg: InboundMessage) => Promise<void>;
  park?: ParkInbound;
}

export class TelegramAdapter implements ChannelAdapter {
  readonly name = TELEGRAM;
  readonly limits: ChannelLimits;
  private readonly token: string;
  private readonly sender: TelegramSender;
  private bot: BotIdentity | undefined;
  private poller: UpdatePoller | undefined;
  private webhook: WebhookListener | undefined;
  private started = false;
  private connecting: Promise<void> | undefined;
  private readonly stopController = new AbortController();

  constructor(
    private readonly config: TelegramConfig,
    private readonly logger: Logger,
    private readonly options: TelegramAdapterOptions = {},
  ) {
    if (!config.telegramToken) throw new Error('JUNE_TELEGRAM_TOKEN is not set');
    this.token = config.telegramToken;
    this.sender = new TelegramSender(
      config.telegramToken,
      config.telegramApiRoot,
      config.telegramMaxDownloadBytes,
    );
    this.limits = {
      maxTextLength: 4096,
      maxCaptionLength: 1024,
      maxDownloadBytes: config.telegramMaxDownloadBytes,
    };
  }

  /** The bot as getMe described it (after start). */
  get identity(): BotIdentity | undefined {
    return this.bot;
  }

  /** Where the webhook listener listens (webhook mode, after start). */
  get webhookPort(): number | undefined {
    return this.webhook?.port;
  }

  /**
   * Asks getMe who the bot is and starts receiving. A refused token fails here; Telegram being out of
   * reach does not stop June from starting: the adapter keeps trying in the background.
   */
  async start(onMessage: (msg: InboundMessage) => Promise<void>, park?: ParkInbound): Promise<void> {
    if (this.started) throw new Error('the Telegram adapter is already started');
    this.started = true;
    const receive = { onMessage, ...(park ? { park } : {}) };
    try {
      await this.connect(receive);
    } catch (err) {
      if (!(err instanceof ChannelError && err.retryable)) throw err;
      this.logger.warn({ err: err.message }, 'Telegram is not reachable yet; retrying in the background');
      this.connecting = this.connectEventually(receive);
    }
  }

  readInbound(raw: unknown): InboundMessage | undefined {
    const { update, bot } = raw as ParkedUpdate;
    if (update.callback_query) return callbackToInbound(update.callback_query);
    return update.message ? toInboundMessage(update.message, bot) : undefined;
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    await this.connecting;
    await this.poller?.stop();
    await this.webhook?.close();
    this.poller = undefined;
    this.webhook = undefined;
  }

  private async connectEventually(receive: Receive): Promise<void> {
    const signal = this.stopController.signal;
    for (let attempt = 1; !signal.aborted; attempt++) {
      await sleep(
        Math.min(30_000, (this.options.retryDelayMs ?? 1000) * 2 ** Math.min(10, attempt - 1)),
        signal,
      ).catch(() => undefined);
      if (signal.aborted) return;
      try {
        await this.connect(receive);
        this.logger.info('Telegram connected');
        return;
      } catch (err) {
        const retryable = err instanceof ChannelError && err.retryable;
        this.logger[retryable ? 'warn' : 'error'](
          { err: describeRedacted(err, this.token) },
          'Telegram start failed',
        );
        if (!retryable) return;
      }
    }
  }

  /** getMe, the commands menu, then the webhook or the poller. Safe to call again after a failure. */
  private async connect(receive: Receive): Promise<void> {
    const me = await this.sender.call('getMe', (api) => api.getMe());
    if (!me.username)
      throw new ChannelError(TELEGRAM, 'getMe returned a bot without a username', { retryable: false });
    this.bot = { id: me.id, username: me.username };
    await this.sender
      .call('setMyCommands', (api) => api.setMyCommands(COMMANDS))
      .catch((err: unknown) =>
        this.logger.warn(
          { err: describeRedacted(err, this.token) },
          'could not publish the Telegram commands menu',
        ),
      );
    const bot = this.bot;
    // a message June cannot read fails like any other intake failure: retried, then parked, never dropped
    const handle = withParking(
      // one span per update: the root of the trace of the message it holds
      (update: Update) =>
        withSpan('telegram.update', { 'telegram.update_id': update.update_id }, async () => {
          const msg = this.readInbound({ update, bot } satisfies ParkedUpdate);
          if (msg) await receive.onMessage(msg);
          // a pressed button spins until answered; the command's answer itself goes to the chat
          const query = update.callback_query;
          if (query)
            await this.sender
              .answerButton(query.id)
              .catch((err: unknown) =>
                this.logger.warn(
                  { err: describeRedacted(err, this.token) },
                  'could not answer a Telegram button press',
                ),
              );
        }),
      {
        channel: TELEGRAM,
        maxAttempts: this.config.inboundMaxAttempts,
        ...(receive.park ? { park: receive.park } : {}),
        updateId: (u) => String(u.update_id),
        raw: (update) => ({ update, bot }) satisfies ParkedUpdate,
        target: (u) =>
          u.callback_query?.message
            ? {
                channel: TELEGRAM,
                chatId: String(u.callback_query.message.chat.id),
                userId: String(u.callback_query.from.id),
                replyToMessageId: String(u.callback_query.message.message_id),
              }
            : u.message
              ? {
                  channel: TELEGRAM,
                  chatId: String(u.message.chat.id),
                  userId: String(u.message.from?.id ?? ''),
                  replyToMessageId: String(u.message.message_id),
                }
              : undefined,
        describe: (err) => describeRedacted(err, this.token),
        logger: this.logger,
      },
    );

    const hookUrl = this.config.telegramWebhookUrl;
    if (hookUrl) {
      const address = webhookAddress(hookUrl);
      const secret = webhookSecret(this.token);
      this.webhook ??= await startWebhookListener({
        host: this.options.webhookHost ?? this.config.httpHost,
        port: this.options.webhookPort ?? address.port,
        path: address.path,
        secretToken: secret,
        handle,
        logger: this.logger,
      });
      await this.sender.call('setWebhook', (api) =>
        api.setWebhook(hookUrl, { secret_token: secret, allowed_updates: ALLOWED_UPDATES }),
      );
      this.logger.info(
        { bot: me.username, port: this.webhook.port, path: address.path },
        'Telegram webhook set',
      );
      return;
    }

    // getUpdates is refused while a webhook is set; pending updates stay queued for the poll
    await this.sender.call('deleteWebhook', (api) => api.deleteWebhook({ drop_pending_updates: false }));
    this.poller = new UpdatePoller({
      getUpdates: (offset, timeoutSec, signal) =>
        this.sender.call('getUpdates', (api) =>
          api.getUpdates(
            {
              ...(offset !== undefined ? { offset } : {}),
              timeout: timeoutSec,
              allowed_updates: ALLOWED_UPDATES,
            },
            grammySignal(signal),
          ),
        ),
      handle,
      retryable: (err) => !(err instanceof ChannelError && err.status === 401),
      describe: (err) => describeRedacted(err, this.token),
      logger: this.logger,
      timeoutSec: this.options.pollTimeoutSec ?? 30,
      retryDelayMs: this.options.retryDelayMs ?? 1000,
    });
    this.poller.start();
    this.logger.info({ bot: me.username }, 'Telegram long polling started');
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

  sendActivity(target: ReplyTarget, activity: Activity): Promise<void> {
    return this.sender.sendActivity(target, activity);
  }

  download(attachment: InboundAttachment, signal?: AbortSignal): Promise<Buffer> {
    return this.sender.download(attachment, signal);
  }
}

export function createTelegramAdapter(
  config: TelegramConfig,
  logger: Logger,
  options: TelegramAdapterOptions = {},
): TelegramAdapter {
  return new TelegramAdapter(config, logger.child({ channel: TELEGRAM }), options);
}
