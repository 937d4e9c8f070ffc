/**
 * The REST half of the fake Discord server: the HTTP API routes discord.js and June use, under
 * /api/v10, with Discord's status codes, error bodies and rate-limit headers; and the CDN route the
 * attachment URLs point at. Validation follows the real API where it matters to a bot: 2000-character
 * content, voice messages (one audio file, no content, duration and waveform required), unknown
 * channels/messages/interactions, interactions acknowledged twice.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  attachmentJson,
  dmChannelJson,
  MessageFlagBits,
  snowflake,
  userJson,
  type AttachmentMeta,
  type Json,
} from './fake-discord-objects.js';
import type { FakeDiscordState, SentFile } from './fake-discord-state.js';

interface RestRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

interface RestResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: Json,
  ) {
    super(message);
  }
}

const MAX_CONTENT = 2000;

export async function handleHttp(
  state: FakeDiscordState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = new URL(req.url ?? '/', state.origin);
  const body = Buffer.concat(chunks);
  const method = req.method ?? 'GET';

  if (method === 'GET' && url.pathname.startsWith('/attachments/')) {
    const file = state.cdnFile(url);
    state.record({ method, path: url.pathname, status: file ? 200 : 404, headers: req.headers, body });
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('This content is no longer available.');
      return;
    }
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.data.length) });
    res.end(file.data);
    return;
  }

  const m = /^\/api\/v(\d+)(\/.*)$/.exec(url.pathname);
  const rr: RestRequest = {
    method,
    path: m?.[2] ?? url.pathname,
    query: url.searchParams,
    headers: req.headers,
    body,
  };
  let out: RestResponse;
  try {
    if (!m) throw new ApiError(404, 0, '404: Not Found');
    out = state.scriptedRateLimit(method, rr.path) ?? (await route(state, rr));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    out = {
      status: err.status,
      body: { message: err.message, code: err.code, ...(err.errors ? { errors: err.errors } : {}) },
    };
  }
  state.record({ method, path: rr.path, status: out.status, headers: req.headers, body });
  const headers: Record<string, string> = { ...bucketHeaders(rr.path), ...out.headers };
  if (out.body === undefined) {
    res.writeHead(out.status, headers).end();
    return;
  }
  res.writeHead(out.status, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify(out.body));
}

/** The X-RateLimit-* headers of a request that was not limited: plenty left in the route's bucket. */
function bucketHeaders(path: string): Record<string, string> {
  return {
    'x-ratelimit-limit': '5',
    'x-ratelimit-remaining': '4',
    'x-ratelimit-reset': String(Date.now() / 1000 + 5),
    'x-ratelimit-reset-after': '5',
    'x-ratelimit-bucket': Buffer.from(path.replace(/\d{5,}/g, ':id'))
      .toString('hex')
      .slice(0, 32),
  };
}

function requireBot(state: FakeDiscordState, req: RestRequest): void {
  if (req.headers.authorization !== `Bot ${state.token}`) throw new ApiError(401, 0, '401: Unauthorized');
}

function json(req: RestRequest): Json {
  try {
    return JSON.parse(req.body.toString('utf8') || '{}') as Json;
  } catch {
    throw new ApiError(400, 50109, 'The request body contains invalid JSON.');
  }
}

/** A JSON body, or a multipart one (payload_json + files[n]) as discord.js sends messages with files. */
async function messageBody(req: RestRequest): Promise<{ payload: Json; files: SentFile[] }> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) return { payload: json(req), files: [] };
  const form = await new Response(req.body, { headers: { 'content-type': type } }).formData();
  const payloadJson = form.get('payload_json');
  const payload = typeof payloadJson === 'string' ? (JSON.parse(payloadJson) as Json) : {};
  const files: SentFile[] = [];
  for (const [field, value] of form.entries()) {
    if (typeof value === 'string') continue;
    files.push({
      field,
      name: value.name,
      contentType: value.type,
      data: Buffer.from(await value.arrayBuffer()),
    });
  }
  return { payload, files };
}

async function route(state: FakeDiscordState, req: RestRequest): Promise<RestResponse> {
  const { method, path } = req;
  let m: RegExpExecArray | null;

  if (method === 'GET' && path === '/gateway') return { status: 200, body: { url: state.gatewayUrl } };
  if (method === 'GET' && path === '/gateway/bot') {
    requireBot(state, req);
    return {
      status: 200,
      body: {
        url: state.gatewayUrl,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
      },
    };
  }
  if (method === 'GET' && path === '/users/@me') {
    requireBot(state, req);
    return { status: 200, body: userJson(state.bot) };
  }
  if (method === 'POST' && path === '/users/@me/channels') {
    requireBot(state, req);
    const user = state.findUser(String(json(req).recipient_id));
    if (!user) throw new ApiError(400, 50033, 'Invalid Recipient(s)');
    return { status: 200, body: dmChannelJson(state.dmChannelId(user), user) };
  }
  if ((m = /^\/channels\/(\d+)$/.exec(path)) && method === 'GET') {
    requireBot(state, req);
    return { status: 200, body: channelOr404(state, m[1]!) };
  }
  if ((m = /^\/channels\/(\d+)\/typing$/.exec(path)) && method === 'POST') {
    requireBot(state, req);
    channelOr404(state, m[1]!);
    state.typingIn(m[1]!);
    return { status: 204 };
  }
  if ((m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path)) && method === 'GET') {
    requireBot(state, req);
    channelOr404(state, m[1]!);
    const msg = state.message(m[1]!, m[2]!);
    if (!msg) throw new ApiError(404, 10008, 'Unknown Message');
    return { status: 200, body: msg };
  }
  if ((m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path)) && method === 'PATCH') {
    requireBot(state, req);
    channelOr404(state, m[1]!);
    const msg = state.message(m[1]!, m[2]!);
    if (!msg) throw new ApiError(404, 10008, 'Unknown Message');
    if ((msg.author as Json | undefined)?.id !== state.bot.id)
      throw new ApiError(403, 50005, 'Cannot edit a message authored by another user');
    const body = json(req);
    if (typeof body.content === 'string') {
      if (body.content.length > MAX_CONTENT)
        throw formError('content', 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_CONTENT} or fewer in length.`);
      msg.content = body.content;
      msg.edited_timestamp = new Date().toISOString();
      state.edits.push({ channelId: m[1]!, messageId: m[2]!, content: body.content, at: Date.now() });
    }
    return { status: 200, body: msg };
  }
  if ((m = /^\/channels\/(\d+)\/messages$/.exec(path)) && method === 'POST') {
    requireBot(state, req);
    channelOr404(state, m[1]!);
    return { status: 200, body: await createMessage(state, m[1]!, req, 'message') };
  }
  if ((m = /^\/applications\/(\d+)\/commands$/.exec(path))) {
    requireBot(state, req);
    if (m[1] !== state.applicationId) throw new ApiError(403, 50001, 'Missing Access');
    if (method === 'GET') return { status: 200, body: state.registeredCommands };
    if (method === 'PUT') return { status: 200, body: state.setCommands(json(req)) };
  }
  if ((m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path)) && method === 'POST') {
    return interactionCallback(state, m[1]!, m[2]!, req);
  }
  if ((m = /^\/webhooks\/(\d+)\/([^/]+)$/.exec(path)) && method === 'POST') {
    const interaction = state.interactionByToken(m[2]!);
    if (m[1] !== state.applicationId || !interaction) throw new ApiError(404, 10015, 'Unknown Webhook');
    if (!interaction.responded) throw new ApiError(404, 10015, 'Unknown Webhook');
    return {
      status: 200,
      body: await createMessage(state, interaction.channelId, req, 'followup', interaction.id),
    };
  }
  if (method === 'POST' && path === '/attachments/refresh-urls') {
    requireBot(state, req);
    const urls = (json(req).attachment_urls as string[] | undefined) ?? [];
    return {
      status: 200,
      body: { refreshed_urls: urls.map((original) => ({ original, refreshed: state.refreshUrl(original) })) },
    };
  }
  throw new ApiError(404, 0, '404: Not Found');
}

function channelOr404(state: FakeDiscordState, id: string): Json {
  const ch = state.channelJson(id);
  if (!ch) throw new ApiError(404, 10003, 'Unknown Channel');
  return ch;
}

function formError(field: string, code: string, message: string): ApiError {
  return new ApiError(400, 50035, 'Invalid Form Body', { [field]: { _errors: [{ code, message }] } });
}

async function createMessage(
  state: FakeDiscordState,
  channelId: string,
  req: RestRequest,
  via: 'message' | 'followup',
  interactionId?: string,
): Promise<Json> {
  const { payload, files } = await messageBody(req);
  return storeBotMessage(state, channelId, payload, files, via, interactionId);
}

function storeBotMessage(
  state: FakeDiscordState,
  channelId: string,
  payload: Json,
  files: SentFile[],
  via: 'message' | 'followup' | 'interaction',
  interactionId?: string,
): Json {
  const content = typeof payload.content === 'string' ? payload.content : '';
  const flags = typeof payload.flags === 'number' ? payload.flags : 0;
  const metas = (payload.attachments as Json[] | undefined) ?? [];
  if (content.length > MAX_CONTENT)
    throw formError('content', 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_CONTENT} or fewer in length.`);
  if (!content && files.length === 0) throw new ApiError(400, 50006, 'Cannot send an empty message');
  if (flags & MessageFlagBits.IsVoiceMessage) {
    if (content) throw new ApiError(400, 50159, 'Voice messages do not support additional content.');
    if (files.length !== 1 || !files[0]!.contentType.startsWith('audio/'))
      throw new ApiError(400, 50160, 'Voice messages must have a single audio attachment.');
    const meta = metas[0];
    if (typeof meta?.duration_secs !== 'number' || typeof meta.waveform !== 'string')
      throw new ApiError(400, 50161, 'Voice messages must have supporting metadata.');
  }
  const ref = payload.message_reference as { message_id?: string; fail_if_not_exists?: boolean } | undefined;
  if (ref?.message_id && !state.message(channelId, ref.message_id) && ref.fail_if_not_exists !== false)
    throw formError('message_reference', 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', 'Unknown message');

  const id = snowflake();
  const attachments: AttachmentMeta[] = files.map((f, i) => {
    const meta = metas.find((a) => String(a.id) === String(i)) ?? {};
    return {
      ...state.storeCdnFile(channelId, f.name, f.contentType, f.data),
      ...(typeof meta.duration_secs === 'number' ? { durationSecs: meta.duration_secs } : {}),
      ...(typeof meta.waveform === 'string' ? { waveform: meta.waveform } : {}),
    };
  });
  const components = checkComponents(payload.components);
  const referenced = ref?.message_id ? state.message(channelId, ref.message_id) : undefined;
  const message = state.addMessage({
    ...(components.length ? { components } : {}),
    id,
    channelId,
    ...state.guildOf(channelId),
    author: state.bot,
    content,
    flags,
    attachments,
    ...(referenced ? { referenced } : {}),
  });
  // like Discord, the bot's own (non-ephemeral) messages come back to it over the gateway
  if (!(flags & MessageFlagBits.Ephemeral)) state.dispatch('MESSAGE_CREATE', message);
  state.recordSent({
    id,
    channelId,
    via,
    content,
    flags,
    attachments: attachments.map(attachmentJson),
    files,
    replyTo: ref?.message_id,
    payload,
    ...(interactionId ? { interactionId } : {}),
  });
  return message;
}

/**
 * Message components as Discord checks them: up to 5 action rows (type 1) of up to 5 buttons (type 2);
 * a non-link button needs a custom_id of 1-100 characters and a label of at most 80.
 */
function checkComponents(components: unknown): Json[] {
  if (components === undefined) return [];
  if (!Array.isArray(components) || components.length > 5)
    throw formError('components', 'BASE_TYPE_BAD_LENGTH', 'Must be between 0 and 5 in length.');
  for (const row of components as Json[]) {
    const buttons = row.components;
    if (row.type !== 1 || !Array.isArray(buttons) || buttons.length < 1 || buttons.length > 5)
      throw formError('components', 'COMPONENT_LAYOUT_WIDTH_EXCEEDED', 'Invalid action row.');
    for (const b of buttons as Json[]) {
      const id = b.custom_id;
      const label = b.label;
      if (b.type !== 2 || typeof id !== 'string' || id.length < 1 || id.length > 100)
        throw formError('components', 'BASE_TYPE_REQUIRED', 'custom_id: This field is required');
      if (typeof label === 'string' && label.length > 80)
        throw formError('components', 'BASE_TYPE_MAX_LENGTH', 'label: Must be 80 or fewer in length.');
    }
  }
  return components as Json[];
}

async function interactionCallback(
  state: FakeDiscordState,
  id: string,
  token: string,
  req: RestRequest,
): Promise<RestResponse> {
  const interaction = state.interactionByToken(token);
  if (!interaction || interaction.id !== id) throw new ApiError(404, 10062, 'Unknown interaction');
  if (interaction.responded) throw new ApiError(400, 40060, 'Interaction has already been acknowledged.');
  const { payload, files } = await messageBody(req);
  const type = payload.type as number;
  const data = (payload.data as Json | undefined) ?? {};
  let message: Json | undefined;
  if (type === 4) {
    message = storeBotMessage(state, interaction.channelId, data, files, 'interaction', id);
  } else if (type !== 5) {
    throw formError('type', 'BASE_TYPE_CHOICES', 'Value must be one of (4, 5).');
  }
  interaction.responded = true;
  if (req.query.get('with_response') !== 'true') return { status: 204 };
  return {
    status: 200,
    body: {
      interaction: { id, type: 2, activity_instance_id: null, response_message_id: message?.id ?? null },
      resource: { type, ...(message ? { message } : {}) },
    },
  };
}
