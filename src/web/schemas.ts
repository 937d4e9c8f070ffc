/**
 * The API's shapes as zod schemas: requests are validated with them, and /openapi.json is generated from
 * them, so the documentation cannot drift from what the server accepts and sends.
 */
import { z } from 'zod';
import { TASK_STATES } from '../tasks/types.js';

// ---------------------------------------------------------------- requests

export const ConversationName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1–64 letters, digits, "_", "." or "-"')
  .describe('Conversation name; each token has its own conversations. Default "default".');

export const MessageJson = z.object({
  text: z.string().trim().min(1, 'text is empty').max(20_000).describe('What the user says'),
  conversation: ConversationName.optional(),
  speak: z.boolean().optional().describe('Answer with a voice reply too (default: only for audio input)'),
});

/** The multipart form: validated field by field as the parts arrive (the file is checked by size only). */
export const MessageMultipart = z.object({
  audio: z
    .string()
    .meta({ format: 'binary' })
    .describe('The recording: any format the decoder takes (OGG/Opus, WebM, MP3, M4A, WAV, FLAC, …)'),
  conversation: ConversationName.optional(),
  speak: z.enum(['true', 'false']).optional().describe('Voice reply (default true for audio)'),
});

export const TaskIdParams = z.object({ id: z.string().min(1).max(200).describe('Task id') });
export const AudioParams = z.object({ id: z.string().min(1).max(200).describe('Audio id (the task id)') });
export const SentenceAudioParams = z.object({
  id: z.string().min(1).max(200).describe('The task id'),
  index: z.coerce.number().int().min(0).max(100_000).describe("The sentence's index (the audio event's)"),
});
export const SpeechRequest = z.object({
  text: z.string().trim().min(1).max(8000).describe('What to say (Markdown is read as plain text)'),
  language: z
    .string()
    .min(2)
    .max(20)
    .optional()
    .describe('BCP-47 language of the text; default: detected by the voice'),
});
export const AudioQuery = z.object({
  format: z
    .enum(['ogg', 'mp3', 'wav'])
    .optional()
    .describe('Convert the reply (default: as stored, OGG/Opus)'),
});
export const ConversationIdParams = z.object({
  id: z
    .string()
    .min(1)
    .max(300)
    .describe('A conversation id from GET /v1/conversations, or the name of one of your web conversations'),
});

const limit = (def: number) =>
  z.coerce.number().int().min(1).max(500).default(def).describe('At most this many');
const capability = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,31}$/)
  .describe('Capability, e.g. voice or chat');

export const TaskListQuery = z.object({
  state: z.enum(TASK_STATES).optional().describe('Only tasks in this state'),
  capability: capability.optional(),
  limit: limit(50),
});
export const TaskStreamQuery = z.object({ capability: capability.optional() });
export const DeadLetterQuery = z.object({ capability: capability.optional(), limit: limit(100) });

export const RedriveBody = z.union([
  z.object({ id: z.string().min(1).describe('One dead task') }),
  z.object({ all: z.literal(true), capability: capability.optional() }),
]);

// ---------------------------------------------------------------- responses

export const ErrorResponse = z.object({
  error: z.object({
    code: z.string().describe('Stable code: bad_token, forbidden, not_found, invalid_request, …'),
    message: z.string(),
    field: z.string().optional().describe('The request field at fault'),
  }),
});

export const TaskError = z.object({
  code: z.string().describe('Stable code, e.g. audio_not_audio, audio_corrupt, timeout'),
  message: z.string(),
  retryable: z.boolean(),
  userMessage: z.string().optional().describe('One sentence for the user'),
});

const TaskLinks = z.object({
  self: z.string(),
  events: z.string().describe('Server-Sent Events of this task'),
  audio: z.string().optional().describe('The reply audio, once there is one'),
});

export const TaskView = z.object({
  id: z.string(),
  kind: z.string(),
  capability: z.string(),
  state: z.enum(TASK_STATES),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  createdAt: z.number().describe('Unix ms'),
  runAt: z.number().optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  workerId: z.string().optional(),
  progress: z
    .object({ stage: z.string(), data: z.unknown().optional(), at: z.number(), attempt: z.number().int() })
    .optional()
    .describe('Latest progress report'),
  error: TaskError.optional(),
  cancelRequested: z.boolean().optional(),
  message: z
    .object({
      channel: z.string(),
      conversation: z.string(),
      userId: z.string(),
      text: z.string().optional(),
      audio: z.boolean(),
    })
    .optional()
    .describe('What the user sent (channel messages)'),
  result: z
    .unknown()
    .optional()
    .describe('The handler result; for messages: status, transcript, text, timings, audioId'),
  links: TaskLinks,
});

export const TaskEventView = z.object({
  taskId: z.string(),
  capability: z.string(),
  type: z.string(),
  at: z.number(),
  attempt: z.number().int().optional(),
  workerId: z.string().optional(),
  stage: z.string().optional(),
  data: z.unknown().optional(),
  error: TaskError.optional(),
  delayMs: z.number().optional(),
});

export const TaskDetailView = TaskView.extend({
  attemptLog: z.array(
    z.object({
      n: z.number().int(),
      workerId: z.string().optional(),
      startedAt: z.number().optional(),
      endedAt: z.number().optional(),
      outcome: z.string(),
      error: TaskError.optional(),
      retryDelayMs: z.number().optional(),
    }),
  ),
  timeline: z.array(TaskEventView),
});

export const TaskList = z.object({ tasks: z.array(TaskView) });

export const Accepted = z.object({
  taskId: z.string(),
  links: TaskLinks,
});

export const CommandAnswer = z.object({
  reply: z.string().describe('The answer to a chat command such as /new or /voice always'),
});

export const ConversationSummary = z.object({
  id: z.string().describe('channel:chat:user'),
  channel: z.string(),
  conversation: z.string().describe('The chat id (for the web: the conversation name)'),
  userId: z.string(),
  title: z
    .string()
    .describe('Its own title if renamed, else the start of its first message, else "New chat"'),
  titled: z.boolean().describe('Whether the title was set by renaming'),
  mine: z.boolean().describe("A web conversation of the caller's own token (one it can send messages to)"),
  updatedAt: z.number(),
  lastMessageAt: z.number().optional().describe('Unix ms of the newest message since the last reset'),
  messages: z.number().int().describe('Messages since the last reset'),
});
export const ConversationList = z.object({ conversations: z.array(ConversationSummary) });
export const ConversationReset = z.object({ id: z.string(), reset: z.literal(true) });
export const ConversationDeleted = z.object({ id: z.string(), deleted: z.literal(true) });

/** A title is kept exactly as typed (trimmed), punctuation and all; only control characters are refused. */
const ConversationTitle = z
  .string()
  .trim()
  .min(1, 'title is empty')
  .max(200, 'title is longer than 200 characters')
  .refine(
    (t) => [...t].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f),
    'title has control characters (line breaks, tabs)',
  )
  .describe('Any text, kept as typed, e.g. "my work notes!"');
export const ConversationCreate = z.object({ title: ConversationTitle.optional() });
export const ConversationRename = z.object({ title: ConversationTitle });
export const ConversationMessagesQuery = z.object({ limit: limit(200) });

export const ConversationTurn = z.object({
  taskId: z.string().optional().describe('The task that answered (follow or retry it with the task routes)'),
  at: z.number().describe('Unix ms the turn was stored'),
  user: z.string().optional().describe('What the user said (the transcript, for a recording)'),
  reply: z.string().optional().describe("June's answer, as plain text or Markdown"),
  voice: z.boolean().describe('The user spoke (sent a recording)'),
  audio: z.string().optional().describe('Link to the voice reply, if there is one'),
  timings: z.record(z.string(), z.number()).optional().describe('Stage timings in ms (decodeMs, sttMs, …)'),
  code: z
    .object({
      task: z.string().describe('What the run was asked to do'),
      state: z.enum(TASK_STATES).describe("The run's task state now"),
      links: z
        .record(z.string(), z.string())
        .describe('As POST /v1/code answers: self, events, steps, diff, cancel'),
    })
    .optional()
    .describe(
      'The turn is a coding run (/code, or delegated by the chat model): follow or show it with these',
    ),
  plan: z
    .object({
      state: z.enum(TASK_STATES).describe("The plan root's task state now"),
      links: z
        .record(z.string(), z.string())
        .describe('As GET /v1/plans/:id answers: self, events, tree, approve, cancel'),
    })
    .optional()
    .describe('The turn is a plan (/plan, or started by the chat model): show it with GET links.self'),
});
export const ConversationMessages = z.object({
  id: z.string(),
  title: z.string(),
  turns: z.array(ConversationTurn).describe('Oldest first, since the last reset'),
});

export const WorkerList = z.object({
  workers: z.array(
    z.object({
      id: z.string(),
      capabilities: z.array(z.string()),
      concurrency: z.number().int(),
      load: z.number(),
      host: z.string(),
      pid: z.number().int(),
      startedAt: z.number(),
      lastHeartbeatAt: z.number(),
      circuits: z
        .array(
          z.object({
            provider: z.string(),
            state: z.enum(['closed', 'open', 'half-open']),
            since: z.number(),
            openUntil: z.number().optional(),
            failures: z.number().int(),
            capabilities: z.array(z.string()),
          }),
        )
        .optional()
        .describe('Providers this worker found down, and the capabilities it paused while they are'),
      tasks: z
        .array(z.object({ id: z.string(), kind: z.string().optional(), stage: z.string().optional() }))
        .describe('What the worker is doing now'),
    }),
  ),
});

export const QueueStats = z.object({
  backend: z.enum(['sqlite', 'bullmq']),
  capabilities: z.array(
    z.object({
      capability: z.string(),
      new: z.number().int(),
      delayed: z.number().int(),
      active: z.number().int(),
      retrying: z.number().int(),
      waitingChildren: z.number().int(),
      completed: z.number().int(),
      dead: z.number().int(),
    }),
  ),
});

export const RedriveResult = z.object({ redriven: z.number().int() });
export const Health = z.object({ status: z.literal('ok') });
export const Status = z.object({
  ready: z.boolean().describe('The queue answers and the models are loaded'),
  llm: z.string().describe('The language model in use, e.g. "Qwen/Qwen3-30B-A3B-Thinking-2507"'),
  stt: z.string().describe('The speech-to-text engine and model, e.g. "whisper base.en"'),
  tts: z.string().describe('The voice, e.g. "espeak-ng" or "sherpa kokoro"'),
});
export const Ready = z.object({
  ready: z.boolean(),
  checks: z
    .object({
      queue: z.string().describe('"ok" or what is wrong'),
      models: z.string().describe('"ok", "loading", "not started", or "failed: " and why'),
    })
    .optional()
    .describe('Only with an admin token'),
});

export const OpenApiDocument = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});
