/**
 * Runs ffmpeg/ffprobe with the input on stdin and the output on stdout, entirely in memory.
 *
 * The child is SIGKILLed as soon as the signal aborts (cancel or stage timeout), so a stuck or slow
 * decode never outlives its request. ffmpeg often closes stdin early (after `-t`, or on bad input); the
 * resulting EPIPE is expected and ignored.
 */
import { spawn } from 'node:child_process';
import { AudioError } from '../util/errors.js';
import { abortReason } from '../util/abort.js';

export type AudioEngine = 'ffmpeg' | 'ffprobe';

export interface EngineRunOptions {
  /** Written to stdin, which is then closed. Omit when the input is a file argument. */
  input?: Buffer;
  signal?: AbortSignal;
}

export interface EngineRunResult {
  stdout: Buffer;
  stderr: string;
  exitCode: number | null;
}

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

export function runAudioEngine(
  engine: AudioEngine,
  args: readonly string[],
  options: EngineRunOptions = {},
): Promise<EngineRunResult> {
  const { input, signal } = options;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<EngineRunResult>((resolve, reject) => {
    const child = spawn(engine, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdoutChunks: Buffer[] = [];
    let stderr = '';
    let settled = false;

    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(() => reject(abortReason(signal!)));
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err: NodeJS.ErrnoException) => {
      child.kill('SIGKILL');
      finish(() => reject(err.code === 'ENOENT' ? engineMissingError(engine, err) : err));
    });
    child.stdout.on('data', (chunk: Buffer) => stdoutChunks.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < MAX_STDERR_CHARS) stderr += chunk;
    });
    // EPIPE/ECONNRESET: ffmpeg stopped reading (finished early or gave up); its exit status says which.
    child.stdin.on('error', () => undefined);
    child.on('close', (exitCode) => {
      finish(() => resolve({ stdout: Buffer.concat(stdoutChunks), stderr, exitCode }));
    });
    if (input) child.stdin.end(input);
    else child.stdin.end();
  });
}
