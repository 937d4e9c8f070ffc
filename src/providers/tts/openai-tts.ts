/**
 * Text-to-speech through any OpenAI-compatible server: POST {baseUrl}/audio/speech with
 * {model, input, voice, response_format: "wav"} (OpenAI, Kokoro-FastAPI, speaches, LocalAI, …).
 *
 * WAV answers are decoded in TypeScript; raw PCM answers (response_format "pcm", or a server that
 * sends audio/pcm) are read as 16-bit mono at the rate the content type names, 24 kHz by default as
 * OpenAI documents; a server that ignores the format and sends MP3/Opus is decoded with ffmpeg.
 */
import type { PcmAudio, SynthesizeOptions, TextToSpeech } from '../types.js';
import { MalformedOutputError } from '../../util/errors.js';
import { throwIfAborted } from '../../util/abort.js';
import { getLogger, type Logger } from '../../observability/logger.js';
import { decodeAudio, isWav, wavToPcm } from '../../audio/index.js';
import { audioHttpOptions, postWithRetries, type AudioHttpOptions } from './openai-audio-http.js';
import { cleanSpeechText, isUnspeakable } from './speech-text.js';

const PROVIDER = 'openai-tts';
/** OpenAI's "pcm" format: 24 kHz, 16-bit signed little-endian, mono. */
export const OPENAI_PCM_RATE = 24_000;

export interface OpenAiTextToSpeechOptions {
  /** e.g. http://gpu:8880/v1 — the path /audio/speech is appended. */
  baseUrl: string;
  /** Model name the server expects, e.g. "kokoro", "tts-1". */
  model: string;
  /** Fixed voice; default: chosen by language (Kokoro voices for a Kokoro model, else "alloy"). */
  voice?: string;
  apiKey?: string;
  retries?: number;
  retryDelayMs?: number;
  logger?: Logger;
}

/** Kokoro's voices per language (its lang codes a, b, e, f, h, i, j, p, z). */
const KOKORO_VOICES: Record<string, string> = {
  en: 'af_heart',
  'en-gb': 'bf_emma',
  es: 'ef_dora',
  fr: 'ff_siwis',
  hi: 'hf_alpha',
  it: 'if_sara',
  ja: 'jf_alpha',
  pt: 'pf_dora',
  zh: 'zf_xiaobei',
};

export class OpenAiTextToSpeech implements TextToSpeech {
  readonly name = PROVIDER;
  private readonly options: OpenAiTextToSpeechOptions;
  private readonly http: AudioHttpOptions;
  private readonly logger: Logger;

  constructor(options: OpenAiTextToSpeechOptions) {
    this.options = options;
    this.logger = (options.logger ?? getLogger()).child({ provider: PROVIDER });
    this.http = audioHttpOptions(
      PROVIDER,
      options,
      'My speech server is not reachable right now, so here is my reply as text.',
      this.logger,
    );
  }

  /** Nothing to load: the model lives on the server. */
  async load(): Promise<void> {}

  /** Text with nothing pronounceable in it gives empty audio without asking the server. */
  async synthesize(text: string, options: SynthesizeOptions = {}): Promise<PcmAudio> {
    const { signal } = options;
    throwIfAborted(signal);
    const input = cleanSpeechText(text);
    if (isUnspeakable(input)) return { sampleRate: OPENAI_PCM_RATE, samples: new Float32Array(0) };
    const voice = options.voice ?? this.options.voice ?? this.voiceFor(options.language);
    const t0 = performance.now();
    const pcm = await postWithRetries(
      this.http,
      'audio/speech',
      () => ({
        body: JSON.stringify({ model: this.options.model, input, voice, response_format: 'wav' }),
        headers: { 'content-type': 'application/json' },
      }),
      async (response) =>
        toPcm(Buffer.from(await response.arrayBuffer()), response.headers.get('content-type'), signal),
      signal,
    );
    this.logger.debug(
      {
        voice,
        chars: input.length,
        audioSec: pcm.samples.length / pcm.sampleRate,
        ms: Math.round(performance.now() - t0),
      },
      'synthesized by server',
    );
    return pcm;
  }

  async close(): Promise<void> {}

  private voiceFor(language: string | undefined): string {
    if (!/kokoro/i.test(this.options.model)) return 'alloy';
    const tag = (language ?? 'en').toLowerCase().replace(/_/g, '-');
    return KOKORO_VOICES[tag] ?? KOKORO_VOICES[tag.split('-')[0]!] ?? KOKORO_VOICES.en!;
  }
}

/** The answer's audio as PCM: WAV, raw 16-bit PCM, or anything ffmpeg can decode. */
export async function toPcm(
  body: Buffer,
  contentType: string | null,
  signal?: AbortSignal,
): Promise<PcmAudio> {
  if (body.length === 0) throw new MalformedOutputError(PROVIDER, 'the speech server sent no audio');
  if (isWav(body)) return wavToPcm(body);
  const type = (contentType ?? '').toLowerCase();
  if (/audio\/(pcm|l16)|application\/octet-stream/.test(type) || type === '') {
    const rate = Number(/rate=(\d+)/.exec(type)?.[1] ?? OPENAI_PCM_RATE);
    const samples = new Float32Array(Math.floor(body.length / 2));
    for (let i = 0; i < samples.length; i++) samples[i] = body.readInt16LE(i * 2) / 32768;
    return { sampleRate: rate, samples };
  }
  if (/^audio\//.test(type)) {
    const decoded = await decodeAudio(body, {
      maxBytes: 100 * 1024 * 1024,
      maxSeconds: 3600,
      ...(signal ? { signal } : {}),
    });
    return decoded.pcm;
  }
  throw new MalformedOutputError(
    PROVIDER,
    `the speech server answered ${type}, not audio: ${body.toString('utf8', 0, 200)}`,
  );
}
