/**
 * Speech-to-text with CMU pocketsphinx as packaged by Debian (0.8+5prealpha, pocketsphinx-en-us): fully
 * offline and June's default. English only — the only model Debian ships.
 *
 * The models stay loaded in one long-lived native helper (native/pocketsphinx-server.c, built on first
 * use by native/build.sh). Requests go to it one at a time; if it dies it is restarted on the next
 * request. Where the helper cannot be built (no compiler or headers), every request runs the stock
 * `pocketsphinx_continuous` instead, which is slower but needs nothing extra.
 */
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PcmAudio, SpeechToText, Transcript, TranscribeOptions } from '../types.js';
import { AudioError, ProviderError } from '../../util/errors.js';
import { abortReason, throwIfAborted } from '../../util/abort.js';
import { getLogger, type Logger } from '../../observability/logger.js';
import { HelperCrashedError, PocketsphinxHelperProcess, type HelperResult } from './pocketsphinx-helper.js';
import { CONTINUOUS_BINARY, decodeWithContinuous } from './pocketsphinx-continuous.js';
import { POCKETSPHINX_SAMPLE_RATE, toPocketsphinxPcm } from './pocketsphinx-pcm.js';

export interface PocketsphinxOptions {
  /** "helper" insists on the native helper, "continuous" always uses pocketsphinx_continuous. */
  mode?: 'auto' | 'helper' | 'continuous';
  /** A prebuilt helper binary; when set, nothing is built. */
  helperPath?: string;
  /** Where native/build.sh puts the helper; default ~/.cache/june/bin (XDG_CACHE_HOME respected). */
  helperDir?: string;
  /** Extra pocketsphinx flags, e.g. ["-hmm", dir, "-lm", file, "-dict", file] for other models. */
  decoderArgs?: string[];
  /** The fallback program; default "pocketsphinx_continuous" from PATH. */
  continuousBinary?: string;
  logger?: Logger;
}

/** The build script, found relative to this module (same depth under src/ and dist/). */
export const POCKETSPHINX_BUILD_SCRIPT = fileURLToPath(new URL('../../../native/build.sh', import.meta.url));

/** Longest utterance the helper accepts (it refuses more than 30 minutes). */
const MAX_SECONDS = 30 * 60;
const FRAMES_PER_SECOND = 100;

export function defaultHelperDir(): string {
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'june', 'bin');
}

/**
 * Builds the helper if needed (idempotent, about a second with gcc) and returns its path. A helper
 * already present in `dir` is used as is when the build script is not shipped.
 */
export async function buildPocketsphinxHelper(dir = defaultHelperDir()): Promise<string> {
  const prebuilt = path.join(dir, 'pocketsphinx-server');
  if (!(await isExecutable(POCKETSPHINX_BUILD_SCRIPT))) {
    if (await isExecutable(prebuilt)) return prebuilt;
    throw new Error(`${POCKETSPHINX_BUILD_SCRIPT} not found and no helper in ${dir}`);
  }
  try {
    const { stdout } = await promisify(execFile)('sh', [POCKETSPHINX_BUILD_SCRIPT, dir]);
    return stdout.trim().split('\n').pop() ?? prebuilt;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(stderr || (err instanceof Error ? err.message : String(err)), { cause: err });
  }
}

export class PocketsphinxSpeechToText implements SpeechToText {
  readonly name = 'pocketsphinx';
  private readonly options: PocketsphinxOptions;
  private readonly logger: Logger;
  /** Settled by load(): which way requests are decoded, and the helper binary when there is one. */
  private engine: Promise<{ mode: 'helper'; binary: string } | { mode: 'continuous' }> | undefined;
  private helper: Promise<PocketsphinxHelperProcess> | undefined;
  /** Tail of the request chain; each request waits for the one before it. */
  private queue: Promise<void> = Promise.resolve();

  constructor(options: PocketsphinxOptions = {}) {
    this.options = options;
    this.logger = (options.logger ?? getLogger()).child({ provider: this.name });
  }

  /** Which decoding path is in use after load(): the resident helper or per-request continuous runs. */
  async mode(): Promise<'helper' | 'continuous'> {
    await this.load();
    return (await this.engine!).mode;
  }

  /** The resident helper's process id, when one is running (diagnostics, `june doctor`). */
  async helperPid(): Promise<number | undefined> {
    const helper = await this.helper?.catch(() => undefined);
    return helper?.alive ? helper.pid : undefined;
  }

  async load(): Promise<void> {
    this.engine ??= this.pickEngine();
    let engine;
    try {
      engine = await this.engine;
    } catch (err) {
      this.engine = undefined; // let a later call try again (e.g. after packages were installed)
      throw err;
    }
    if (engine.mode === 'helper') await this.runningHelper(engine.binary);
  }

  async transcribe(audio: PcmAudio, options: TranscribeOptions = {}): Promise<Transcript> {
    const { signal } = options;
    throwIfAborted(signal);
    checkLanguage(options.language);
    if (audio.samples.length / audio.sampleRate > MAX_SECONDS) {
      throw new AudioError(
        'audio_too_long',
        `pocketsphinx: ${Math.round(audio.samples.length / audio.sampleRate)} s of audio is over ${MAX_SECONDS} s`,
        'That recording is too long for me to transcribe.',
      );
    }
    if (audio.sampleRate !== POCKETSPHINX_SAMPLE_RATE) {
      this.logger.debug({ sampleRate: audio.sampleRate }, 'resampling to 16 kHz for pocketsphinx');
    }
    const pcm = toPocketsphinxPcm(audio);
    await this.load();
    const engine = await this.engine!;
    return this.serialised(signal, async () => {
      const t0 = performance.now();
      const transcript =
        engine.mode === 'helper'
          ? await this.decodeWithHelper(engine.binary, pcm, signal)
          : {
              text: await decodeWithContinuous(
                pcm,
                this.options.decoderArgs ?? [],
                signal,
                this.options.continuousBinary,
              ),
              language: 'en',
            };
      this.logger.debug(
        { mode: engine.mode, audioMs: Math.round(pcm.length / 32), ms: Math.round(performance.now() - t0) },
        'pocketsphinx transcribed',
      );
      return transcript;
    });
  }

  /** Stops the helper once its current request is done. A later load() or transcribe() starts it again. */
  async close(): Promise<void> {
    const helper = this.helper;
    this.helper = undefined;
    this.engine = undefined;
    if (!helper) return;
    try {
      await (await helper).stop();
    } catch {
      // It never started; nothing to stop.
    }
  }

  private async pickEngine(): Promise<{ mode: 'helper'; binary: string } | { mode: 'continuous' }> {
    const { mode = 'auto', helperPath, helperDir } = this.options;
    if (mode === 'continuous') return { mode };
    try {
      const binary = helperPath ?? (await buildPocketsphinxHelper(helperDir));
      return { mode: 'helper', binary };
    } catch (err) {
      if (mode === 'helper') {
        throw new ProviderError(
          this.name,
          `cannot build the pocketsphinx helper: ${(err as Error).message}`,
          {
            code: 'stt_engine_missing',
            userMessage: 'Speech recognition is not set up on this server.',
            cause: err,
          },
        );
      }
      this.logger.warn(
        { err: (err as Error).message, fallback: this.options.continuousBinary ?? CONTINUOUS_BINARY },
        'pocketsphinx helper unavailable; falling back to one pocketsphinx_continuous run per request (slower)',
      );
      return { mode: 'continuous' };
    }
  }

  /** The resident helper, started (or restarted after a crash or an abort) when needed. */
  private async runningHelper(binary: string): Promise<PocketsphinxHelperProcess> {
    const current = this.helper;
    if (current) {
      const h = await current.catch(() => undefined);
      if (h?.alive) return h;
      if (this.helper !== current) return this.runningHelper(binary); // someone else restarted it
    }
    const started = PocketsphinxHelperProcess.start(binary, this.options.decoderArgs ?? [], this.logger);
    this.helper = started;
    started.catch(() => {
      if (this.helper === started) this.helper = undefined;
    });
    return started;
  }

  private async decodeWithHelper(binary: string, pcm: Buffer, signal?: AbortSignal): Promise<Transcript> {
    let result: HelperResult;
    try {
      result = await (await this.runningHelper(binary)).decode(pcm, signal);
    } catch (err) {
      if (!(err instanceof HelperCrashedError) || signal?.aborted) throw err;
      // One retry on a fresh helper: a crash is more likely the process than these samples.
      this.logger.warn({ err: err.message }, 'pocketsphinx helper crashed; restarting it');
      result = await (await this.runningHelper(binary)).decode(pcm, signal);
    }
    return toTranscript(result);
  }

  private async serialised<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    const previous = this.queue;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.queue = previous.then(() => mine);
    try {
      await waitOrAbort(previous, signal);
      return await fn();
    } finally {
      release();
    }
  }
}

/** Debian only ships the US English model: other languages would come back as English-sounding noise. */
function checkLanguage(language: string | undefined): void {
  if (!language || language === 'auto' || /^en([-_]|$)/i.test(language)) return;
  throw new ProviderError('pocketsphinx', `language "${language}" is not supported (English only)`, {
    code: 'stt_language_unsupported',
    userMessage:
      'My offline speech recognition only understands English. Please speak English, or ask the admin to enable Whisper.',
  });
}

function toTranscript(result: HelperResult): Transcript {
  const words = result.words.map((w) => ({
    startSec: w.sf / FRAMES_PER_SECOND,
    endSec: (w.ef + 1) / FRAMES_PER_SECOND,
    text: w.w.replace(/\(\d+\)$/, ''),
    p: w.p,
  }));
  const transcript: Transcript = { text: result.hyp.trim(), language: 'en' };
  if (words.length > 0) {
    // Mean word posterior: the utterance posterior shrinks with every word and says little.
    transcript.confidence = words.reduce((sum, w) => sum + w.p, 0) / words.length;
    transcript.segments = words.map(({ startSec, endSec, text }) => ({ startSec, endSec, text }));
  }
  return transcript;
}

function waitOrAbort(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  throwIfAborted(signal);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
