/**
 * Runs ffmpeg/ffprobe with the input on stdin and the output on stdout, entirely in memory.
 *
 * The child is SIGKILLed as soon as the signal aborts (cancel or stage timeout), so a stuck or slow
 * decode never outlives its request. ffmpeg often closes stdin early (after `-t`, or on bad input); the
 * resulting EPIPE is expected and ignored.
 */
import { AudioError } from '../util/errors.js';
import { runProcess, type ProcessResult } from '../util/process.js';

export type AudioEngine = 'ffmpeg' | 'ffprobe';

export interface EngineRunOptions {
  /** Written to stdin, which is then closed. Omit when the input is a file argument. */
  input?: Buffer;
  signal?: AbortSignal;
}

export type EngineRunResult = ProcessResult;

/** Keeps stderr bounded; with `-nostats` ffmpeg writes a few KB, this only guards against floods. */
const MAX_STDERR_CHARS = 256 * 1024;

export function engineMissingError(engine: AudioEngine, cause?: unknown): AudioError {
  return new AudioError(
    'audio_engine_missing',
    `${engine} is not installed or not on PATH`,
    `I cannot process audio because ${engine} is not installed on the server. ` +
      'Please run the setup script (scripts/setup.sh) or install ffmpeg, then try again.',
    cause,
  );
}

export async function runAudioEngine(
  engine: AudioEngine,
  args: readonly string[],
  options: EngineRunOptions = {},
): Promise<EngineRunResult> {
  return runProcess(engine, args, {
    ...(options.input ? { input: options.input } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    maxStderr: MAX_STDERR_CHARS,
    spawnError: (err) => (err.code === 'ENOENT' ? engineMissingError(engine, err) : err),
  });
}
