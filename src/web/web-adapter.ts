/**
 * The web page and HTTP API as one more channel. Messages from the API go through the shared gateway and
 * task handler like Telegram's; the reply reaches the web client through the task itself (its result, its
 * progress events and the reply audio in the audio store), so the sending methods have nothing to deliver.
 * An answer the gateway gives at once (a command such as /new, a "slow down") is its outcome, which the
 * messages route returns in the HTTP response.
 *
 * Kept free of Fastify so standalone workers can load it to read uploads for web voice messages.
 */
import type { ChannelAdapter, ChannelLimits, InboundAttachment, InboundMessage } from '../channels/types.js';
import { JuneError } from '../util/errors.js';
import type { UploadStore } from './uploads.js';

export const WEB_CHANNEL = 'web';

export type WebChannelAdapter = ChannelAdapter;

export function createWebAdapter(options: {
  uploads: UploadStore;
  maxDownloadBytes: number;
}): WebChannelAdapter {
  const limits: ChannelLimits = {
    // the page shows any length; nothing is split or captioned
    maxTextLength: 1_000_000,
    maxCaptionLength: 1_000_000,
    maxDownloadBytes: options.maxDownloadBytes,
  };
  return {
    name: WEB_CHANNEL,
    limits,
    authenticatesUsers: true,
    // the HTTP server hands messages to the gateway itself, so that it can answer with the outcome
    async start(_onMessage: (msg: InboundMessage) => Promise<void>) {},
    async stop() {},
    async download(attachment: InboundAttachment): Promise<Buffer> {
      const data = await options.uploads.read(attachment.fileId);
      if (!data) {
        // retryable: a worker that does not share the data directory gives the task to one that does
        throw new JuneError(`web upload ${attachment.fileId} is missing`, {
          code: 'upload_missing',
          retryable: true,
          userMessage: 'Your recording is no longer stored on the server. Please send it again.',
        });
      }
      return data;
    },
    async sendText() {},
    async sendVoice() {},
    async sendActivity() {},
  };
}
