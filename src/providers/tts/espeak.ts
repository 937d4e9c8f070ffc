/**
 * Text-to-speech with espeak-ng: offline, tiny, many languages, robotic. The default voice of June.
 *
 * Text goes to espeak-ng on stdin (never through a shell or as an argument, so nothing in it can be
 * taken for an option), as UTF-8, with markup tags stripped. The WAV it writes to stdout is decoded in
 * TypeScript; audio comes back at espeak-ng's own rate, 22050 Hz.
 *
 * Each sentence's process is started, and its WAV decoded, on a worker thread (espeak-thread.ts): starting
 * a process from June's large process costs the event loop tens of milliseconds on a loaded machine, and
 * many replies spoken at once held up the HTTP API. Where no thread can run, both happen here as before.
 */
import type { PcmAudio, SynthesizeOptions, TextToSpeech } from '../types.js';
import { ProviderError } from '../../util/errors.js';
import { throwIfAborted } from '../../util/abort.js';
import { runProcess, type ProcessResult } from '../../util/process.js';
import { getLogger, type Logger } from '../../observability/logger.js';
import { wavToPcm } from '../../audio/index.js';
import { espeakVoiceFor, parseEspeakVoiceList } from './espeak-voices.js';
import {
  EspeakSpawnError,
  EspeakThreadUnavailable,
  espeakOffThread,
  type EspeakRun,
} from './espeak-thread.js';
import { cleanSpeechText, isUnspeakable } from './speech-text.js';

export const ESPEAK_SAMPLE_RATE = 22_050;
const PROVIDER = 'espeak-ng';

export interface EspeakOptions {
  /** A fixed espeak-ng voice ("en-us", "fr-fr", "en-us+f3"); default: chosen by the text's language. */
  voice?: string;
  /** Speaking rate in words per minute (espeak-ng -s; default 175). */
  rate?: number;
  /** Pitch 0-99 (espeak-ng -p; default 50). */
  pitch?: number;
  /** The program; default "espeak-ng" from PATH. */
  binary?: string;
  logger?: Logger;
}

export class EspeakTextToSpeech implements TextToSpeech {
  readonly name = PROVIDER;
  private readonly options: EspeakOptions;
  private readonly logger: Logger;
  private voices: Promise<Set<string>> | undefined;
  private readonly warnedLanguages = new Set<string>();

  constructor(options: EspeakOptions = {}) {
    this.options = options;
    this.logger = (options.logger ?? getLogger()).child({ provider: PROVIDER });
    if (options.voice) checkVoiceName(options.voice);
    if (options.rate !== undefined && !(options.rate >= 80 && options.rate <= 450)) {
      throw new RangeError(`espeak-ng rate must be 80-450 words per minute, got ${options.rate}`);
    }
  }

  /** Checks that espeak-ng runs and reads its voice list. Idempotent. */
  async load(): Promise<void> {
    this.voices ??= this.run(['--voices'], undefined, undefined).then((r) => {
      if (r.exitCode !== 0) throw this.failure('cannot list voices', r);
      return parseEspeakVoiceList(r.stdout.toString('utf8'));
    });
    try {
      await this.voices;
    } catch (err) {
      this.voices = undefined;
      throw err;
    }
  }

  /**
   * Speaks `text`. Text with nothing pronounceable in it (empty, only spaces or punctuation, only
   * markup) gives empty audio rather than an error: a reply can legitimately contain such a "sentence".
   */
  async synthesize(text: string, options: SynthesizeOptions = {}): Promise<PcmAudio> {
    const { signal } = options;
    throwIfAborted(signal);
    const cleaned = cleanSpeechText(text);
    if (isUnspeakable(cleaned)) return emptyAudio();
    await this.load();
    const voice = await this.pickVoice(options);
    const args = ['-v', voice, '-b', '1', '--stdout'];
    if (this.options.rate !== undefined) args.push('-s', String(Math.round(this.options.rate)));
    if (this.options.pitch !== undefined) args.push('-p', String(Math.round(this.options.pitch)));
    const t0 = performance.now();
    const result = await this.speak(args, cleaned, signal);
    if (result.exitCode !== 0) throw this.failure(`voice ${voice} failed`, result);
    const pcm = result.pcm ?? emptyAudio();
    this.logger.debug(
      {
        voice,
        chars: cleaned.length,
        audioSec: pcm.samples.length / pcm.sampleRate,
        ms: Math.round(performance.now() - t0),
      },
      'espeak-ng synthesized',
    );
    return pcm;
  }

  async close(): Promise<void> {
    // Nothing stays running: every sentence is its own short espeak-ng process.
  }

  private async pickVoice(options: SynthesizeOptions): Promise<string> {
    const fixed = options.voice ?? this.options.voice;
    if (fixed) {
      checkVoiceName(fixed);
      return fixed;
    }
    const choice = espeakVoiceFor(options.language, await this.voices!);
    if (choice.fallback && options.language && !this.warnedLanguages.has(options.language)) {
      this.warnedLanguages.add(options.language);
      this.logger.warn(
        { language: options.language, voice: choice.voice },
        'no espeak-ng voice for language',
      );
    }
    return choice.voice;
  }

  /** One espeak-ng run with its WAV decoded: on the thread, or here when no thread can run. */
  private async speak(args: string[], input: string, signal: AbortSignal | undefined): Promise<EspeakRun> {
    const binary = this.options.binary ?? 'espeak-ng';
    try {
      return await espeakOffThread(binary, args, input, { ...(signal ? { signal } : {}), maxStderr: 2000 });
    } catch (err) {
      if (err instanceof EspeakSpawnError) throw this.spawnFailure(binary, err);
      if (!(err instanceof EspeakThreadUnavailable)) throw err;
    }
    const r = await this.run(args, input, signal);
    return {
      exitCode: r.exitCode,
      stderr: r.stderr,
      ...(r.stdout.length > 0 ? { pcm: wavToPcm(r.stdout) } : {}),
    };
  }

  private spawnFailure(binary: string, err: Error): ProviderError {
    return new ProviderError(PROVIDER, `cannot run ${binary}: ${err.message}`, {
      code: 'tts_engine_missing',
      userMessage: 'Speech output is not installed on this server, so here is my reply as text.',
      cause: err,
    });
  }

  private failure(what: string, result: Pick<ProcessResult, 'exitCode' | 'stderr'>): ProviderError {
    const detail = result.stderr.trim().split('\n').slice(-2).join(' | ') || `exit status ${result.exitCode}`;
    const unknownVoice = /voice does not exist|failed to read voice/i.test(result.stderr);
    return new ProviderError(PROVIDER, `${what}: ${detail}`, {
      code: unknownVoice ? 'tts_voice_unknown' : 'tts_engine_failed',
      userMessage: unknownVoice
        ? 'The configured voice is not installed on this server.'
        : 'I could not speak that reply, so here it is as text.',
    });
  }

  private run(
    args: string[],
    input: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ProcessResult> {
    const binary = this.options.binary ?? 'espeak-ng';
    return runProcess(binary, args, {
      input: input ?? '',
      ...(signal ? { signal } : {}),
      maxStderr: 2000,
      keepStderr: 'tail',
      spawnError: (err) => this.spawnFailure(binary, err),
    });
  }
}

function emptyAudio(): PcmAudio {
  return { sampleRate: ESPEAK_SAMPLE_RATE, samples: new Float32Array(0) };
}

/** espeak-ng voice names: letters, digits, "-", "_", "+" (variants) and "/" (voice files). */
function checkVoiceName(voice: string): void {
  if (!/^[\w+/-]+$/.test(voice) || voice.startsWith('-')) {
    throw new ProviderError(PROVIDER, `invalid voice name ${JSON.stringify(voice)}`, {
      code: 'tts_voice_unknown',
      userMessage: 'The configured voice name is not valid.',
    });
  }
}
