/**
 * A real local HTTP server speaking OpenAI's audio API, backed by real engines so that round trips mean
 * something:
 *
 * - POST /v1/audio/transcriptions (multipart/form-data: file, model, language, response_format): the
 *   upload is decoded with June's decodeAudio (ffmpeg) and transcribed with pocketsphinx. Answers json,
 *   text or verbose_json like OpenAI does (language as an English word: "english").
 * - POST /v1/audio/speech (JSON: model, input, voice, response_format): espeak-ng speaks the input;
 *   wav is sent with a proper header, pcm as 24 kHz s16le like OpenAI, other formats through ffmpeg.
 *
 * Scripted failures (`script(path, ...steps)`): each request to that path takes the next step first —
 * an HTTP error, a hang-up before answering, a connection dropped mid-body, or a delay.
 * Every request is recorded (fields, uploaded file, JSON body, headers) for the tests to inspect.
 */
import { spawn } from 'node:child_process';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeAudio } from '../../src/audio/index.js';
import { PocketsphinxSpeechToText } from '../../src/providers/stt/pocketsphinx.js';
import { JuneError } from '../../src/util/errors.js';

export const TRANSCRIPTIONS_PATH = '/v1/audio/transcriptions';
export const SPEECH_PATH = '/v1/audio/speech';

export type FailureStep =
  /** Answer with this status and JSON body (default: an OpenAI-style error object). */
  | { status: number; body?: unknown }
  /** Destroy the socket without answering: the client sees a network error. */
  | { hangUp: true }
  /** Send the status line and part of a body, then destroy the socket. */
  | { dropMidBody: true }
  /** Wait, then answer normally (a slow server). */
  | { delayMs: number };

export interface UploadedFile {
  filename: string;
  contentType: string;
  bytes: Buffer;
}

export interface RecordedAudioRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** Multipart text fields (transcriptions). */
  fields: Record<string, string>;
  file?: UploadedFile;
  /** JSON body (speech). */
  json?: Record<string, unknown>;
  /** True when the client went away before the answer was complete. */
  clientClosed: boolean;
}

export interface FakeAudioServerOptions {
  /** How verbose_json names the language: "name" ("english", as OpenAI does; default) or "code" ("en"). */
  languageStyle?: 'name' | 'code';
  /** Answer every transcription with only {"text"}, whatever was asked (older/minimal servers). */
  textOnly?: boolean;
  /** Answer speech in this format whatever was asked (a server that ignores response_format). */
  forceSpeechFormat?: 'wav' | 'pcm' | 'mp3';
  /** Require "Authorization: Bearer <apiKey>"; 401 otherwise. */
  apiKey?: string;
}

export interface FakeAudioServer {
  /** Base URL including /v1, as June's sttBaseUrl/ttsBaseUrl expect. */
  url: string;
  requests: RecordedAudioRequest[];
  script(path: string, ...steps: FailureStep[]): void;
  close(): Promise<void>;
}

const LANGUAGE_NAMES: Record<string, string> = { en: 'english' };

export async function startFakeAudioServer(options: FakeAudioServerOptions = {}): Promise<FakeAudioServer> {
  const stt = new PocketsphinxSpeechToText();
  const scripts = new Map<string, FailureStep[]>();
  const requests: RecordedAudioRequest[] = [];

  const server = http.createServer((req, res) => {
    const record: RecordedAudioRequest = {
      path: req.url ?? '',
      headers: req.headers,
      fields: {},
      clientClosed: false,
    };
    requests.push(record);
    const aborted = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) {
        record.clientClosed = true;
        aborted.abort();
      }
    });
    handle(req, res, record, aborted.signal).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status = err instanceof HttpError ? err.status : 500;
      sendJson(res, status, {
        error: { message: err instanceof Error ? err.message : String(err), type: 'server_error' },
      });
    });
  });

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    record: RecordedAudioRequest,
    signal: AbortSignal,
  ) {
    const body = await readBody(req);
    const step = scripts.get(record.path)?.shift();
    if (step && 'hangUp' in step) return void req.socket.destroy();
    if (step && 'dropMidBody' in step) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"text":"this answer never fin');
      return void setTimeout(() => req.socket.destroy(), 20);
    }
    if (step && 'status' in step) {
      return sendJson(
        res,
        step.status,
        step.body ?? { error: { message: `scripted failure ${step.status}`, type: 'server_error' } },
      );
    }
    if (step && 'delayMs' in step) await new Promise((r) => setTimeout(r, step.delayMs));

    if (req.method !== 'POST') throw new HttpError(405, `${req.method} not allowed`);
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      throw new HttpError(401, 'Incorrect API key provided');
    }
    if (record.path === TRANSCRIPTIONS_PATH) return transcribe(req, res, body, record, signal);
    if (record.path === SPEECH_PATH) return speak(res, body, record, signal);
    throw new HttpError(404, `no route ${record.path}`);
  }

  async function transcribe(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    record: RecordedAudioRequest,
    signal: AbortSignal,
  ) {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(req.headers['content-type'] ?? '');
    if (!boundary) throw new HttpError(400, 'expected multipart/form-data');
    for (const part of parseMultipart(body, boundary[1] ?? boundary[2]!)) {
      if (part.filename !== undefined) {
        record.file = { filename: part.filename, contentType: part.contentType ?? '', bytes: part.data };
      } else {
        record.fields[part.name] = part.data.toString('utf8');
      }
    }
    const { model, language, response_format: format = 'json' } = record.fields;
    if (!record.file) throw new HttpError(400, "Missing required parameter: 'file'");
    if (!model) throw new HttpError(400, "Missing required parameter: 'model'");
    if (!['json', 'text', 'verbose_json'].includes(format))
      throw new HttpError(400, `response_format ${format} is not supported here`);

    let decoded;
    try {
      decoded = await decodeAudio(record.file.bytes, { maxBytes: 25 * 1024 * 1024, maxSeconds: 600, signal });
    } catch (err) {
      throw new HttpError(
        400,
        `Invalid file format: ${err instanceof JuneError ? err.message : String(err)}`,
      );
    }
    let transcript;
    try {
      transcript = await stt.transcribe(decoded.pcm, { language, signal });
    } catch (err) {
      if (err instanceof JuneError && err.code === 'stt_language_unsupported')
        throw new HttpError(400, err.message);
      throw err;
    }
    if (options.textOnly || format === 'json') return sendJson(res, 200, { text: transcript.text });
    if (format === 'text') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end(`${transcript.text}\n`);
    }
    const code = transcript.language ?? 'en';
    sendJson(res, 200, {
      task: 'transcribe',
      language: options.languageStyle === 'code' ? code : (LANGUAGE_NAMES[code] ?? code),
      duration: decoded.durationSec,
      text: transcript.text,
      segments: transcript.text
        ? [
            {
              id: 0,
              start: 0,
              end: decoded.durationSec,
              text: ` ${transcript.text}`,
              avg_logprob: Math.log(transcript.confidence ?? 0.5),
              no_speech_prob: 0.01,
            },
          ]
        : [],
    });
  }

  async function speak(res: ServerResponse, body: Buffer, record: RecordedAudioRequest, signal: AbortSignal) {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'body is not valid JSON');
    }
    record.json = json as Record<string, unknown>;
    const { model, input, voice, response_format: requested = 'mp3' } = record.json;
    if (typeof model !== 'string' || !model) throw new HttpError(400, "Missing required parameter: 'model'");
    if (typeof input !== 'string' || !input.trim())
      throw new HttpError(400, "Missing required parameter: 'input'");
    if (typeof voice !== 'string' || !voice) throw new HttpError(400, "Missing required parameter: 'voice'");
    const format = options.forceSpeechFormat ?? String(requested);
    // OpenAI voice names ("alloy") are not espeak-ng voices; anything else is tried as one.
    const espeakVoice = /^[a-z]{2,3}(-[a-z0-9]+)*$/.test(voice) ? voice : 'en-us';
    const wav = await run(
      'espeak-ng',
      ['-v', espeakVoice, '-b', '1', '--stdout'],
      Buffer.from(input),
      signal,
    );
    if (format === 'wav') return sendAudio(res, 'audio/wav', fixWavSizes(wav));
    if (format === 'pcm') {
      const pcm = await run(
        'ffmpeg',
        ['-v', 'error', '-i', 'pipe:0', '-ar', '24000', '-ac', '1', '-f', 's16le', 'pipe:1'],
        wav,
        signal,
      );
      return sendAudio(res, 'audio/pcm', pcm);
    }
    if (format === 'mp3') {
      const mp3 = await run('ffmpeg', ['-v', 'error', '-i', 'pipe:0', '-f', 'mp3', 'pipe:1'], wav, signal);
      return sendAudio(res, 'audio/mpeg', mp3);
    }
    throw new HttpError(400, `response_format ${format} is not supported here`);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    script(path, ...steps) {
      const full = path.startsWith('/') ? path : `/v1/audio/${path}`;
      scripts.set(full, [...(scripts.get(full) ?? []), ...steps]);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await stt.close();
    },
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendAudio(res: ServerResponse, type: string, bytes: Buffer): void {
  res.writeHead(200, { 'content-type': type, 'content-length': bytes.length });
  res.end(bytes);
}

interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/** RFC 7578 multipart/form-data: parts between "--boundary" lines, headers, blank line, then data. */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new HttpError(400, 'multipart body has no boundary');
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') return parts; // closing delimiter
    if (body.subarray(pos, pos + 2).toString() !== '\r\n')
      throw new HttpError(400, 'malformed multipart delimiter');
    const headerEnd = body.indexOf('\r\n\r\n', pos + 2);
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headerEnd);
    if (headerEnd < 0 || next < 0) throw new HttpError(400, 'truncated multipart body');
    const headers = body.subarray(pos + 2, headerEnd).toString('utf8');
    const disposition = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(headers)?.[1] ?? '';
    const name = /\bname="([^"]*)"/.exec(disposition)?.[1];
    if (name === undefined) throw new HttpError(400, 'multipart part without a name');
    const filename = /\bfilename="([^"]*)"/.exec(disposition)?.[1];
    const contentType = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim();
    parts.push({
      name,
      ...(filename !== undefined ? { filename } : {}),
      ...(contentType !== undefined ? { contentType } : {}),
      data: body.subarray(headerEnd + 4, next),
    });
    pos = next + 2;
  }
}

/** espeak-ng streams its WAV with placeholder sizes; a server writing a file fills them in. */
function fixWavSizes(wav: Buffer): Buffer {
  const out = Buffer.from(wav);
  const dataAt = out.indexOf('data', 12);
  if (dataAt > 0) {
    out.writeUInt32LE(out.length - 8, 4);
    out.writeUInt32LE(out.length - dataAt - 8, dataAt + 4);
  }
  return out;
}

function run(cmd: string, args: string[], input: Buffer, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${cmd} failed: ${stderr}`)),
    );
  });
}
