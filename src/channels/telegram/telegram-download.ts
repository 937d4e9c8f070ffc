/**
 * Downloads a file from the Bot API's file route (`<apiRoot>/file/bot<token>/<file_path>`), stopping as
 * soon as it is larger than the limit. The URL holds the token, so errors say what failed without it.
 */
import { ChannelError } from '../errors.js';
import { describeRedacted } from './telegram-errors.js';
import { TELEGRAM } from './telegram-message.js';

export interface DownloadOptions {
  maxBytes: number;
  signal?: AbortSignal | undefined;
  token: string;
  /** The sentence a user gets if the download finally fails. */
  userMessage: string;
  tooBig: (size: number) => Error;
}

export async function downloadFile(url: string, options: DownloadOptions): Promise<Buffer> {
  const fail = (message: string, retryable: boolean, status?: number) =>
    new ChannelError(TELEGRAM, `download: ${message}`, {
      retryable,
      userMessage: options.userMessage,
      ...(status !== undefined ? { status } : {}),
    });
  let res: Response;
  try {
    res = await fetch(url, options.signal ? { signal: options.signal } : {});
  } catch (err) {
    throw fail(describeRedacted(err, options.token), true);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    // 404: the file_path expired (they live about an hour); a new getFile on the next attempt fixes it
    throw fail(
      `HTTP ${res.status}`,
      res.status >= 500 || res.status === 404 || res.status === 429,
      res.status,
    );
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw options.tooBig(declared);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body ?? []) {
      size += chunk.length;
      if (size > options.maxBytes) break;
      chunks.push(Buffer.from(chunk));
    }
  } catch (err) {
    throw fail(describeRedacted(err, options.token), true);
  }
  // leaving the loop early cancelled the stream; nothing more is read
  if (size > options.maxBytes) throw options.tooBig(size);
  return Buffer.concat(chunks);
}
