/**
 * June's one configuration schema. Every option has a default and a one-line doc (`.describe`).
 *
 * Keys are camelCase here and in the config file; the environment variable is JUNE_ + SCREAMING_SNAKE of
 * the key (llmBaseUrl → JUNE_LLM_BASE_URL). Options marked `.meta({ secret: true })` are redacted by
 * `june config`, logs and error messages.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const xdg = (envName: string, fallback: string) => process.env[envName] || path.join(os.homedir(), fallback);
const defaultModelsDir = () => path.join(xdg('XDG_CACHE_HOME', '.cache'), 'june', 'models');
const defaultDataDir = () => path.join(xdg('XDG_DATA_HOME', '.local/share'), 'june');

const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const list = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

export const configSchema = z.object({
  // ----- providers
  stt: z
    .enum(['auto', 'pocketsphinx', 'whisper', 'openai', 'sensevoice', 'moonshine', 'parakeet'])
    .default('auto')
    .describe(
      'Speech-to-text provider; auto = whisper (downloaded on first run, sized by memory), pocketsphinx only when whisper cannot be had; sensevoice/moonshine/parakeet = sherpa-onnx engines',
    ),
  llm: z
    .enum(['auto', 'openai', 'llama'])
    .default('auto')
    .describe('LLM provider; auto = openai if JUNE_LLM_BASE_URL is set, else the embedded llama'),
  tts: z
    .enum(['auto', 'sherpa', 'espeak-ng', 'openai'])
    .default('auto')
    .describe(
      'Text-to-speech provider; auto = the neural sherpa-onnx voice for the language (downloaded on first use), espeak-ng when it cannot be had',
    ),

  // ----- LLM
  llmBaseUrl: z
    .string()
    .url()
    .optional()
    .describe('OpenAI-compatible server base URL, e.g. http://gpu:8000/v1'),
  llmModel: z
    .string()
    .default('Qwen/Qwen3-30B-A3B-Thinking-2507')
    .describe('Model name sent to the OpenAI-compatible server'),
  llmApiKey: z.string().optional().meta({ secret: true }).describe('API key for the LLM server (secret)'),
  llmModelPath: z
    .string()
    .optional()
    .describe('GGUF file for the embedded llama provider; default: the cached default model'),
  llmTemperature: z.coerce.number().min(0).max(2).default(0.6).describe('Sampling temperature'),
  llmMaxTokens: int(1).default(1024).describe('Maximum tokens generated per reply (thinking included)'),
  llmContextSize: int(256).default(4096).describe('Context window for the embedded llama provider'),
  llmThinking: z
    .enum(['auto', 'always-open', 'never'])
    .default('auto')
    .describe('How reasoning is found in content: auto-detect, always starts open (Qwen3-Thinking), never'),
  llmThreads: int(0, 1024)
    .default(0)
    .describe('CPU threads for the embedded llama provider; 0 = llama.cpp chooses'),
  llmRetries: int(0, 10).default(3).describe('Retries on connection errors and 5xx from the LLM server'),
  systemPrompt: z
    .string()
    .default(
      'You are June, a helpful voice assistant. Answer briefly and conversationally, in plain sentences without markdown, because your answer is spoken aloud.',
    )
    .describe('System prompt for every conversation'),
  historyTurns: int(0).default(20).describe('How many past messages of a conversation are sent to the LLM'),

  // ----- STT
  sttBaseUrl: z.string().url().optional().describe('OpenAI-compatible /v1/audio/transcriptions base URL'),
  sttModel: z
    .string()
    .default('auto')
    .describe(
      'STT model: whisper.cpp model name (auto = chosen by memory: base.en, small.en-q5_1 or large-v3-turbo-q5_0), sherpa-onnx model id or directory, or server model name',
    ),
  sttApiKey: z.string().optional().meta({ secret: true }).describe('API key for the STT server (secret)'),
  sttLanguage: z.string().default('auto').describe('Spoken language hint ("auto" to detect where supported)'),

  // ----- TTS
  ttsBaseUrl: z.string().url().optional().describe('OpenAI-compatible /v1/audio/speech base URL'),
  ttsModel: z.string().default('kokoro').describe('TTS model name sent to the speech server'),
  ttsVoice: z.string().optional().describe('Voice name; default: chosen by language'),
  ttsApiKey: z.string().optional().meta({ secret: true }).describe('API key for the TTS server (secret)'),
  ttsSherpaModel: z
    .string()
    .default('auto')
    .describe(
      'sherpa-onnx voice: a model id (kokoro-multi-lang-v1_0, vits-piper-en_US-amy-low, …) or a model directory; auto = chosen by language',
    ),
  ttsThreads: int(1, 64).default(1).describe('CPU threads of one sherpa-onnx voice synthesis'),

  // ----- storage
  modelsDir: z.string().default(defaultModelsDir).describe('Model cache directory'),
  dataDir: z.string().default(defaultDataDir).describe('Data directory (task database, conversations)'),
  modelBaseUrl: z
    .string()
    .url()
    .default('https://huggingface.co')
    .describe('Hugging Face (or mirror) base URL that model downloads come from'),
  modelReleaseBaseUrl: z
    .string()
    .url()
    .default('https://github.com')
    .describe('GitHub (or mirror) base URL that sherpa-onnx model archives come from'),
  offline: bool.default(false).describe('Never download models; fail with a clear message instead'),

  // ----- audio limits
  audioMaxBytes: int(1)
    .default(20 * 1024 * 1024)
    .describe('Largest accepted audio input, in bytes'),
  audioMaxSeconds: z.coerce
    .number()
    .positive()
    .default(600)
    .describe('Longest accepted audio input, in seconds'),
  vadThresholdDb: z.coerce
    .number()
    .default(-45)
    .describe('Energy gate: frames louder than this (dBFS) may be speech'),
  vadMinSpeechMs: int(0).default(250).describe('Minimum voiced time for a clip to count as speech'),
  vad: z
    .enum(['auto', 'silero', 'energy'])
    .default('auto')
    .describe('Speech gate: auto = Silero VAD (downloaded, 1.2 MB), the energy gate when it cannot be had'),
  vadModel: z
    .string()
    .default('silero-vad-v6')
    .describe('Silero VAD model: registry id or path to an .onnx file'),
  replyFormat: z.enum(['ogg', 'mp3', 'wav']).default('ogg').describe('Audio format of spoken replies'),

  // ----- stage timeouts (ms; 0 = none)
  decodeTimeoutMs: int(0).default(30_000).describe('Time limit for decoding input audio'),
  sttTimeoutMs: int(0).default(120_000).describe('Time limit for speech-to-text'),
  llmTimeoutMs: int(0).default(180_000).describe('Time limit for the whole LLM reply'),
  llmFirstTokenTimeoutMs: int(0).default(60_000).describe('Time limit until the LLM sends anything'),
  llmIdleTimeoutMs: int(0).default(30_000).describe('Time limit between two streamed LLM chunks'),
  ttsTimeoutMs: int(0).default(60_000).describe('Time limit for synthesising one sentence'),

  // ----- tasks
  queue: z.enum(['sqlite', 'bullmq']).default('sqlite').describe('Task queue backend'),
  redisUrl: z
    .string()
    .default('redis://127.0.0.1:6379')
    .describe('Redis URL for the bullmq queue (secret if it has a password)'),
  taskMaxAttempts: int(1, 100).default(3).describe('Attempts before a task is dead-lettered'),
  taskLeaseMs: int(1000).default(30_000).describe('Lease on an active task; expired leases are retried'),
  workerCapabilities: list.default(['voice', 'chat']).describe('Capabilities of in-process workers'),
  workerConcurrency: int(1, 256).default(2).describe('Tasks a worker runs at once'),
  drainTimeoutMs: int(0)
    .default(10_000)
    .describe(
      'Shutdown deadline: running tasks may finish, the rest go back to the queue, channels close; then the process exits',
    ),
  taskRetryBaseMs: int(1)
    .default(1000)
    .describe('First retry delay of a failed task; doubles per attempt, with jitter'),
  circuitOpenMs: int(1)
    .default(2000)
    .describe('Pause of a capability after its provider was found down; doubles per failed probe'),
  circuitMaxOpenMs: int(1)
    .default(15_000)
    .describe('Longest pause between two probes of a provider that is down'),
  providerOutageMaxMs: int(0)
    .default(300_000)
    .describe(
      'How long queued tasks wait for a provider that is down (a model server restart) before they fail as usual',
    ),

  // ----- channels (shared)
  allowUsers: list
    .default([])
    .describe('Users allowed without pairing, as channel:userId (e.g. telegram:12345, discord:987)'),
  allowGroups: list
    .default([])
    .describe('Group chats June answers in (when mentioned or replied to), as channel:chatId'),
  rateLimitPerMinute: int(1)
    .default(10)
    .describe('Messages a user may send per minute (token bucket refill)'),
  rateLimitBurst: int(1).default(5).describe('Messages a user may send in a quick burst'),
  strangerReplyIntervalMs: int(0)
    .default(10 * 60 * 1000)
    .describe('A stranger (not paired) is answered at most once per this many ms'),
  pairingCooldownMs: int(0)
    .default(24 * 60 * 60 * 1000)
    .describe('A revoked or denied user gets no new pairing code for this many ms'),
  inboundMaxAttempts: int(1, 1000)
    .default(5)
    .describe(
      'Tries to take in a received Telegram update before it is parked as a task (its chat goes on; dead letters can be redriven)',
    ),
  historyMaxTokens: int(0)
    .default(3000)
    .describe('Conversation history sent to the LLM, in (estimated) tokens'),
  voiceReplies: z
    .enum(['auto', 'always', 'never'])
    .default('auto')
    .describe('Default voice reply policy: auto = voice when the user spoke'),

  // ----- Telegram
  telegramToken: z
    .string()
    .optional()
    .meta({ secret: true })
    .describe('Telegram bot token from @BotFather (secret)'),
  telegramApiRoot: z
    .string()
    .url()
    .default('https://api.telegram.org')
    .describe('Bot API server; a self-hosted telegram-bot-api lifts the 20 MB download limit'),
  telegramWebhookUrl: z
    .string()
    .url()
    .optional()
    .describe('Public HTTPS URL for webhook mode; unset = long polling'),
  telegramMaxDownloadBytes: int(1)
    .default(20 * 1024 * 1024)
    .describe('Largest file the Bot API lets bots download (20 MB on the public server)'),

  // ----- Discord
  discordToken: z.string().optional().meta({ secret: true }).describe('Discord bot token (secret)'),
  discordApiBase: z.string().url().default('https://discord.com/api').describe('Discord REST API base URL'),
  discordGatewayUrl: z
    .string()
    .optional()
    .describe('Discord gateway WebSocket URL; default: asked from the REST API'),

  // ----- web and HTTP API
  httpHost: z.string().default('127.0.0.1').describe('Address the web page and HTTP API listen on'),
  httpPort: int(0, 65535).default(7117).describe('Port of the web page and HTTP API (0 = any free port)'),
  httpHeadersTimeoutMs: int(0)
    .default(15_000)
    .describe('Time a client has to send the request headers; then 408 and the connection closes (0 = none)'),
  httpRequestTimeoutMs: int(0)
    .default(120_000)
    .describe('Time a client has to send a whole request, an audio upload included (0 = none)'),
  httpMaxConnectionsPerClient: int(0)
    .default(64)
    .describe('Open connections one client address may hold; more are refused with 429 (0 = no cap)'),
  apiTokens: list
    .default([])
    .meta({ secret: true })
    .describe('Bearer tokens for the HTTP API, comma-separated; prefix admin: for admin scope (secret)'),
  web: bool.default(true).describe('Serve the web page and HTTP API with `june start`'),

  // ----- sandbox (commands run for the coding agent and `june sandbox exec`)
  sandbox: z
    .enum(['bubblewrap', 'docker', 'none'])
    .default('bubblewrap')
    .describe('Sandbox backend; none = plain subprocess with no isolation (explicit opt-in only)'),
  sandboxTimeoutMs: int(100).default(120_000).describe('Wall-clock limit of one sandboxed command'),
  sandboxMemoryMb: int(16).default(1024).describe('Memory (address space) limit of a sandboxed command'),
  sandboxCpuSeconds: int(1).default(300).describe('CPU-time limit of each sandboxed process'),
  sandboxMaxProcesses: int(4).default(256).describe('Processes a sandboxed command may run at once'),
  sandboxFileSizeMb: int(1).default(256).describe('Largest file a sandboxed command may write'),
  sandboxDiskMb: int(1).default(1024).describe('Workspace size past which a sandboxed command is killed'),
  sandboxOutputBytes: int(1024)
    .default(64 * 1024)
    .describe('Output kept per stream (head and tail; the middle is elided with a note)'),
  sandboxDockerImage: z
    .string()
    .default('python:3.12-slim')
    .describe('Image the docker sandbox runs commands in'),
  sandboxUid: int(1, 2 ** 31 - 1)
    .default(65534)
    .describe('Host user id sandboxed commands run as when June runs as root'),

  // ----- coding agent
  agentMaxSteps: int(1, 1000).default(30).describe('Steps (model replies) a coding run may take'),
  agentMaxWallMs: int(1000).default(600_000).describe('Wall-clock limit of one coding run'),
  agentMaxTokens: int(1000)
    .default(200_000)
    .describe('Tokens (prompt + completion + reasoning) one coding run may use'),
  agentCommandTimeoutMs: int(100).default(60_000).describe('Time limit of one command the agent runs'),
  agentContextTokens: int(1024)
    .default(16_384)
    .describe("The model's context size; old observations are elided before a coding run reaches it"),
  agentProjects: list
    .default([])
    .describe('Directories whose projects the coding agent may copy and patch (june code --workspace)'),
  agentChatDelegate: bool
    .default(true)
    .describe(
      'Let the chat model start coding tasks itself (a delegate_coding_task tool, offered only while a worker serves the code capability)',
    ),
  agentStatusEditMs: int(0)
    .default(2000)
    .describe("Least time between two edits of a chat's coding-task status message"),

  // ----- planner (multi-step task trees)
  planApprovalSubtasks: int(1, 1000)
    .default(4)
    .describe('A plan with more subtasks than this is shown to the user for approval before it runs'),
  planApprovalTokens: int(0)
    .default(60_000)
    .describe('A plan whose estimated tokens exceed this is shown to the user for approval before it runs'),
  planApprovalSeconds: int(0)
    .default(300)
    .describe(
      'A plan whose estimated run time (seconds) exceeds this is shown to the user for approval first',
    ),
  planMaxSubtasks: int(1, 1000)
    .default(8)
    .describe('Most subtasks one task tree may have (re-plans included)'),
  planMaxDepth: int(1, 100)
    .default(4)
    .describe('Longest chain of subtasks (each needing the one before) a plan may have'),
  planMaxTokens: int(1000)
    .default(400_000)
    .describe('Tokens (planning, subtasks and composing together) one task tree may use'),
  planMaxSeconds: int(10)
    .default(1800)
    .describe('Wall-clock limit of one task tree, from planning to the composed answer (seconds)'),
  plannerChatTool: bool
    .default(true)
    .describe(
      'Let the chat model start a multi-step task itself (a plan_task tool, offered only while a worker serves the plan capability)',
    ),

  // ----- browse capability (Chromium per task tree)
  browse: z
    .enum(['auto', 'on', 'off'])
    .default('auto')
    .describe(
      'Serve the browse capability (web pages in Chromium for multi-step tasks); auto = when Chromium is found',
    ),
  browseChromiumPath: z
    .string()
    .default('/usr/bin/chromium')
    .describe('Chromium executable that the browse capability launches (Debian: /usr/bin/chromium)'),
  searxngUrl: z
    .string()
    .url()
    .optional()
    .describe('Self-hosted SearXNG base URL for web search (its JSON API); unset: browse cannot search'),
  browseMaxPages: int(1, 1000).default(10).describe('Most pages one browse task may open'),
  browsePageTimeoutMs: int(500)
    .default(20_000)
    .describe('Time limit of loading one page in the browse capability'),
  browseMaxPageBytes: int(1024)
    .default(5 * 1024 * 1024)
    .describe('Largest page or download (bytes) the browse capability loads'),
  browseMaxSteps: int(1, 200).default(15).describe('Most model steps (tool calls) one browse task may take'),
  browseBlockedHosts: list
    .default([])
    .describe('Hosts the browser never loads (a name also blocks its subdomains), comma-separated'),
  browseAllowedHosts: list
    .default([])
    .describe('When set, the only hosts the browser loads (and their subdomains), comma-separated'),
  browseAllowPrivate: bool
    .default(false)
    .describe('Let the browser load localhost and private-network addresses (given as names or literal IPs)'),

  // ----- evaluation (june eval)
  evalMaxTokens: int(1)
    .default(4096)
    .describe('Output tokens one answer may use in june eval --mode completion (models that do not reason)'),
  evalThinkingMaxTokens: int(1)
    .default(32_768)
    .describe('Output tokens one answer of a thinking model may use in june eval (reasoning included)'),
  evalThinking: z
    .enum(['auto', 'on', 'off'])
    .default('auto')
    .describe(
      'Whether june eval treats the model as a thinking model (large output budget); auto = by its name (Thinking, R1, QwQ, reasoning)',
    ),
  evalPricePromptPerMTok: z.coerce
    .number()
    .min(0)
    .optional()
    .describe('Price of one million prompt tokens, for the cost june eval reports (unset: no cost)'),
  evalPriceCompletionPerMTok: z.coerce
    .number()
    .min(0)
    .optional()
    .describe(
      'Price of one million completion tokens (reasoning included), for the cost june eval reports (unset: no cost)',
    ),

  // ----- observability
  logLevel: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
    .default('info')
    .describe('Log level'),
  tracing: z
    .enum(['none', 'console', 'otlp'])
    .default('none')
    .describe(
      'Where OpenTelemetry spans go; otlp = OTLP/HTTP set by the standard OTEL_EXPORTER_OTLP_* variables',
    ),
});

export type JuneConfig = z.output<typeof configSchema>;
export type JuneConfigInput = z.input<typeof configSchema>;

export const configKeys = Object.keys(configSchema.shape) as (keyof JuneConfig)[];

/**
 * Keys whose values are never printed nor logged, and are scrubbed from every error: those marked
 * `.meta({ secret: true })` above. (A password inside a URL option is handled by src/util/redact.ts.)
 */
export const secretKeys: ReadonlySet<keyof JuneConfig> = new Set(
  configKeys.filter((k) => configSchema.shape[k].meta()?.secret === true),
);

/** llmBaseUrl → JUNE_LLM_BASE_URL */
export function envNameFor(key: string): string {
  return 'JUNE_' + key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}
