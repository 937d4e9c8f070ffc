/**
 * Speech-to-text through any OpenAI-compatible server: POST {baseUrl}/audio/transcriptions with the
 * audio as a WAV upload (OpenAI, faster-whisper-server/speaches, whisper.cpp server, vLLM, LocalAI …).
 *
 * Asks for verbose_json to learn the detected language and segments; servers that answer with only
 * {"text"} or with plain text are read as well. Retries connection failures and 5xx twice.
 */
import type { PcmAudio, SpeechToText, Transcript, TranscriptSegment, TranscribeOptions } from '../types.js';
import { MalformedOutputError } from '../../util/errors.js';
import { throwIfAborted } from '../../util/abort.js';
import { getLogger, type Logger } from '../../observability/logger.js';
import { pcmToWav } from '../../audio/index.js';
import { audioHttpOptions, postWithRetries, type AudioHttpOptions } from '../tts/openai-audio-http.js';
import { languageCode, requestLanguage } from './openai-stt-language.js';

const PROVIDER = 'openai-stt';

export interface OpenAiSpeechToTextOptions {
  /** e.g. http://gpu:8000/v1 — the path /audio/transcriptions is appended. */
  baseUrl: string;
  /** Model name the server expects, e.g. "whisper-1" or "Systran/faster-whisper-small". */
  model: string;
  apiKey?: string;
  /** Language hint used when a request gives none; "auto" or undefined lets the server detect. */
  language?: string;
  /** Retries on connection errors and 5xx (default 2). */
  retries?: number;
  retryDelayMs?: number;
  logger?: Logger;
}

export class OpenAiSpeechToText implements SpeechToText {
  readonly name = PROVIDER;
  private readonly options: OpenAiSpeechToTextOptions;
  private readonly http: AudioHttpOptions;
  private readonly logger: Logger;

  constructor(options: OpenAiSpeechToTextOptions) {
    this.options = options;
    this.logger = (options.logger ?? getLogger()).child({ provider: PROVIDER });
    this.http = audioHttpOptions(
      PROVIDER,
      options,
      'My speech recognition server is not reachable right now. Please try again in a moment.',
      this.logger,
    );
  }

  /** Nothing to load: the model lives on the server. The first request shows whether it is reachable. */
  async load(): Promise<void> {}

  async transcribe(audio: PcmAudio, options: TranscribeOptions = {}): Promise<Transcript> {
    const { signal } = options;
    throwIfAborted(signal);
    const wav = pcmToWav(audio);
    const language = requestLanguage(options.language ?? this.options.language);
    const t0 = performance.now();
    const transcript = await postWithRetries(
      this.http,
      'audio/transcriptions',
      () => {
        const form = new FormData();
        form.append('file', new Blob([wav], { type: 'audio/wav' }), 'audio.wav');
        form.append('model', this.options.model);
        form.append('response_format', 'verbose_json');
        if (language) form.append('language', language);
        return { body: form };
      },
      async (response) => parseTranscription(await response.text(), response.headers.get('content-type')),
      signal,
    );
    // A server that does not report the language was still told which one to expect.
    if (transcript.language === undefined && language) transcript.language = language;
    this.logger.debug(
      {
        audioSec: audio.samples.length / audio.sampleRate,
        language: transcript.language,
        ms: Math.round(performance.now() - t0),
      },
      'transcribed by server',
    );
    return transcript;
  }

  async close(): Promise<void> {}
}

/** Reads verbose_json, json ({"text"}) or a plain-text answer. */
export function parseTranscription(raw: string, contentType: string | null): Transcript {
  const looksJson = /json/i.test(contentType ?? '') || /^\s*[{[]/.test(raw);
  if (!looksJson) return { text: raw.trim() };
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (err) {
    throw new MalformedOutputError(
      PROVIDER,
      `transcription answer is not valid JSON: ${raw.slice(0, 200)}`,
      err,
    );
  }
  if (!body || typeof body !== 'object' || typeof (body as { text?: unknown }).text !== 'string') {
    throw new MalformedOutputError(PROVIDER, `transcription answer has no "text": ${raw.slice(0, 200)}`);
  }
  const b = body as { text: string; language?: unknown; segments?: unknown };
  const transcript: Transcript = { text: b.text.trim() };
  const language = languageCode(b.language);
  if (language) transcript.language = language;
  const segments = Array.isArray(b.segments) ? b.segments.flatMap(toSegment) : [];
  if (segments.length > 0) transcript.segments = segments.map((s) => s.segment);
  const logprobs = segments.flatMap((s) => (s.avgLogprob === undefined ? [] : [s.avgLogprob]));
  if (logprobs.length > 0) {
    // Whisper's average token log-probability, as a 0..1 figure.
    const mean = logprobs.reduce((a, v) => a + v, 0) / logprobs.length;
    transcript.confidence = Math.min(1, Math.max(0, Math.exp(mean)));
  }
  return transcript;
}

function toSegment(raw: unknown): Array<{ segment: TranscriptSegment; avgLogprob?: number }> {
  if (!raw || typeof raw !== 'object') return [];
  const s = raw as { start?: unknown; end?: unknown; text?: unknown; avg_logprob?: unknown };
  if (typeof s.start !== 'number' || typeof s.end !== 'number' || typeof s.text !== 'string') return [];
  const segment = { startSec: s.start, endSec: s.end, text: s.text.trim() };
  return [typeof s.avg_logprob === 'number' ? { segment, avgLogprob: s.avg_logprob } : { segment }];
}
