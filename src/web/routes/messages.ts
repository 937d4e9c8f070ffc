/**
 * POST /v1/messages: a text (JSON) or a recording (multipart) becomes a durable task through the shared
 * channel gateway. The recording is stored before the task is enqueued; the answer is 202 with the task
 * id and links to follow it. Decoding happens in the task, so bad audio is reported there (audio_* codes).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { ChannelTurnPayload } from '../../channels/turn-task.js';
import type { InboundMessage } from '../../channels/types.js';
import { contextFromTraceparent } from '../../observability/trace-context.js';
import { withSpan } from '../../observability/tracing.js';
import { defineRoute, parseInput, type AnyRoute, type RouteInput } from '../api-route.js';
import type { Caller } from '../auth.js';
import type { WebDeps } from '../deps.js';
import { ApiError, formatBytes } from '../errors.js';
import { Accepted, CommandAnswer, MessageJson, MessageMultipart } from '../schemas.js';
import { taskLinks } from '../task-view.js';
import { WEB_CHANNEL } from '../web-adapter.js';

interface MessageInput {
  text?: string;
  audio?: { data: Buffer; mimeType: string; fileName?: string };
  conversation: string;
  speak?: boolean;
}

type PostArgs = RouteInput<undefined, undefined, undefined>;

/** Room for the multipart framing and small fields around the audio file. */
const MULTIPART_OVERHEAD = 64 * 1024;

/**
 * Reads the form; a body the multipart parser cannot read (cut short, no closing boundary, broken part
 * headers) is the client's error: 400 invalid_request, not a server failure.
 */
async function readMultipart(req: FastifyRequest, maxBytes: number): Promise<MessageInput> {
  try {
    return await readMultipartParts(req, maxBytes);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (err instanceof ApiError || (typeof code === 'string' && code.startsWith('FST_'))) throw err;
    throw new ApiError(
      'invalid_request',
      `The multipart body cannot be read (${err instanceof Error ? err.message : String(err)}).`,
      'body',
    );
  }
}

async function readMultipartParts(req: FastifyRequest, maxBytes: number): Promise<MessageInput> {
  const fields: Record<string, string> = {};
  let audio: MessageInput['audio'];
  for await (const part of req.parts({
    limits: { fileSize: maxBytes, files: 1, fields: 10, fieldSize: 4096 },
  })) {
    if (part.type === 'file') {
      if (part.fieldname !== 'audio') {
        part.file.resume();
        throw new ApiError(
          'invalid_request',
          `unexpected file field "${part.fieldname}"; use "audio"`,
          part.fieldname,
        );
      }
      audio = {
        data: await part.toBuffer(),
        mimeType: part.mimetype,
        ...(part.filename ? { fileName: part.filename } : {}),
      };
    } else if (typeof part.value === 'string') {
      fields[part.fieldname] = part.value;
    }
  }
  if (!audio) throw new ApiError('invalid_request', 'body.audio: the form has no "audio" file', 'body.audio');
  if (audio.data.length === 0)
    throw new ApiError('invalid_request', 'body.audio: the file is empty', 'body.audio');
  const form = parseInput(MessageMultipart.omit({ audio: true }), fields, 'body');
  return {
    audio,
    conversation: form.conversation ?? 'default',
    ...(form.speak ? { speak: form.speak === 'true' } : {}),
  };
}

/** The platform message id: the client's Idempotency-Key (scoped to the caller) or a random one. */
function messageIdFor(caller: Caller, req: FastifyRequest): string {
  const key = req.headers['idempotency-key'];
  if (typeof key === 'string' && key.length > 0) {
    if (key.length > 200)
      throw new ApiError(
        'invalid_request',
        'Idempotency-Key is longer than 200 characters',
        'Idempotency-Key',
      );
    return createHash('sha256').update(`${caller.userId}\0${key}`).digest('base64url').slice(0, 24);
  }
  return randomBytes(16).toString('base64url');
}

export function messageRoutes(deps: WebDeps): AnyRoute[] {
  const maxBytes = deps.config.audioMaxBytes;

  const accept = async (caller: Caller, messageId: string, input: MessageInput) => {
    const gateway = deps.runtime.gateway;
    if (!gateway) throw new Error('the channel runtime has no queue to put messages on');
    const uploadId = input.audio ? await deps.uploads.save(input.audio.data) : undefined;
    const msg: InboundMessage = {
      channel: WEB_CHANNEL,
      chatId: input.conversation,
      userId: caller.userId,
      messageId,
      chatType: 'private',
      mentioned: false,
      repliedToBot: false,
      ...(input.text !== undefined ? { text: input.text } : {}),
      attachments:
        input.audio && uploadId
          ? [
              {
                kind: 'voice',
                fileId: uploadId,
                mimeType: input.audio.mimeType,
                sizeBytes: input.audio.data.length,
                ...(input.audio.fileName ? { fileName: input.audio.fileName } : {}),
              },
            ]
          : [],
      receivedAt: Date.now(),
      ...(input.speak !== undefined ? { speak: input.speak } : {}),
    };
    const dropUpload = () => (uploadId ? deps.uploads.remove(uploadId) : Promise.resolve());
    const outcome = await gateway.accept(msg, deps.adapter).catch(async (err: unknown) => {
      await dropUpload();
      throw err;
    });
    if (outcome.kind === 'accepted') {
      if (uploadId) {
        // a repeated Idempotency-Key names the first task, which keeps its own recording
        const task = (await deps.queue.get(outcome.taskId))?.task;
        if ((task?.payload as ChannelTurnPayload | undefined)?.attachment?.fileId !== uploadId)
          await dropUpload();
      }
      return { kind: 'task' as const, taskId: outcome.taskId };
    }
    await dropUpload();
    if (outcome.kind === 'ignored') {
      if (outcome.reason === 'stranger') throw new ApiError('forbidden', 'This user may not talk to June.');
      throw new ApiError('invalid_request', 'The message is empty.', 'body.text');
    }
    switch (outcome.reason) {
      case 'command':
        return { kind: 'reply' as const, reply: outcome.text };
      case 'rate_limited':
        throw new ApiError('rate_limited', outcome.text);
      case 'too_large':
        throw new ApiError('payload_too_large', outcome.text);
      case 'unsupported':
        throw new ApiError('unsupported_media_type', outcome.text);
      case 'pairing':
      case 'owner_paired':
        throw new ApiError('forbidden', 'This user may not talk to June.');
    }
  };

  return [
    defineRoute({
      method: 'POST',
      url: '/v1/messages',
      tag: 'messages',
      auth: 'user',
      summary: 'Send a text or a recording',
      description:
        'JSON `{text, conversation?, speak?}` or multipart/form-data with an `audio` file (any format the ' +
        'decoder takes) and optional `conversation` and `speak` fields. The message becomes a durable task: ' +
        'follow it at links.events (Server-Sent Events) or poll links.self. An `Idempotency-Key` header ' +
        'makes a retried request name the same task. Chat commands (/new, /voice always, /lang fr) are ' +
        'answered at once with 200 {reply}.',
      requestBodies: [
        { contentType: 'application/json', schema: MessageJson },
        { contentType: 'multipart/form-data', schema: MessageMultipart },
      ],
      responses: {
        202: { description: 'Accepted: the task that will answer', schema: Accepted },
        200: { description: 'A chat command, answered at once', schema: CommandAnswer },
        400: { description: 'invalid_request (error.field names the field)' },
        413: { description: 'payload_too_large: over audioMaxBytes' },
        415: { description: 'unsupported_media_type: neither JSON nor multipart' },
        429: { description: 'rate_limited' },
      },
      handler: (args) => {
        // one span per message, the root of its trace, or a child of the client's (a traceparent header)
        const header = args.req.headers.traceparent;
        const parent = typeof header === 'string' ? contextFromTraceparent(header) : undefined;
        const attributes = { 'http.request.method': 'POST', 'http.route': '/v1/messages' };
        return withSpan('http.request', attributes, () => post(args), parent);
      },
    }),
  ];

  async function post({ caller, req, reply }: PostArgs) {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes + MULTIPART_OVERHEAD)
      throw new ApiError(
        'payload_too_large',
        `The request body is too large (the limit is ${formatBytes(maxBytes)} of audio).`,
      );
    const messageId = messageIdFor(caller, req);
    let input: MessageInput;
    if (req.isMultipart()) {
      input = await readMultipart(req, maxBytes);
    } else {
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
        throw new ApiError('unsupported_media_type', 'Send application/json or multipart/form-data.');
      const body = parseInput(MessageJson, req.body, 'body');
      input = {
        text: body.text,
        conversation: body.conversation ?? 'default',
        ...(body.speak !== undefined ? { speak: body.speak } : {}),
      };
    }
    const out = await accept(caller, messageId, input);
    if (out.kind === 'reply') return reply.status(200).send({ reply: out.reply });
    return reply.status(202).send({ taskId: out.taskId, links: taskLinks(out.taskId, false) });
  }
}
