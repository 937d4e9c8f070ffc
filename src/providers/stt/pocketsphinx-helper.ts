/**
 * One running native/pocketsphinx-server process: spawn, wait for "ready", decode utterances, stop.
 * The protocol is documented at the top of native/pocketsphinx-server.c. Requests must not overlap;
 * PocketsphinxSpeechToText serialises them.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { ProviderError } from '../../util/errors.js';
import { abortReason } from '../../util/abort.js';
import type { Logger } from '../../observability/logger.js';

export interface HelperWord {
  /** The dictionary word; alternate pronunciations carry a suffix such as "(2)". */
  w: string;
  /** Start and end frame (10 ms each), inclusive. */
  sf: number;
  ef: number;
  /** Posterior probability 0..1. */
  p: number;
}

export interface HelperResult {
  hyp: string;
  score: number;
  /** Posterior of the whole utterance; tiny for long utterances, so not used as a confidence. */
  posterior: number;
  frames: number;
  decodeMs: number;
  words: HelperWord[];
}

const PROVIDER = 'pocketsphinx';
const STDERR_TAIL_CHARS = 2000;
const STOP_GRACE_MS = 2000;

/** A helper that died or broke protocol. The caller may start a new one and retry once. */
export class HelperCrashedError extends ProviderError {
  constructor(message: string) {
    super(PROVIDER, message, { code: 'stt_engine_crashed', retryable: true });
  }
}

type Waiter = { resolve: (line: string) => void; reject: (err: Error) => void };

export class PocketsphinxHelperProcess {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly lines: string[] = [];
  private waiter: Waiter | undefined;
  private partial = '';
  private stderrTail = '';
  private exitError: Error | undefined;
  private readonly exited: Promise<void>;

  private constructor(binary: string, args: string[], logger: Logger) {
    this.child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => this.onStdout(chunk));
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    });
    // A helper that dies while we write makes stdin emit EPIPE; the exit handler reports it instead.
    this.child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        this.fail(new HelperCrashedError(`cannot run ${binary}: ${err.message}`));
        resolve();
      });
      this.child.on('exit', (code, signal) => {
        const why = signal ? `signal ${signal}` : `exit status ${code}`;
        const tail = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
        this.fail(new HelperCrashedError(`helper stopped (${why})${tail ? `: ${tail}` : ''}`));
        logger.debug({ code, signal }, 'pocketsphinx helper exited');
        resolve();
      });
    });
  }

  /** Spawns the helper and waits until its models are loaded. */
  static async start(binary: string, args: string[], logger: Logger): Promise<PocketsphinxHelperProcess> {
    const helper = new PocketsphinxHelperProcess(binary, args, logger);
    const t0 = performance.now();
    let first: string;
    try {
      first = await helper.nextLine(undefined);
    } catch (err) {
      helper.kill();
      throw err;
    }
    const msg = parseJson(first);
    if (msg?.ready !== true) {
      helper.kill();
      const reason = typeof msg?.error === 'string' ? msg.error : first.slice(0, 200);
      throw new ProviderError(PROVIDER, `helper failed to start: ${reason}`, { code: 'stt_engine_failed' });
    }
    helper.stderrTail = ''; // start-up chatter; only what comes later can explain a crash
    logger.debug(
      { ms: Math.round(performance.now() - t0), pid: helper.child.pid },
      'pocketsphinx helper ready',
    );
    return helper;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exitError === undefined;
  }

  /**
   * Decodes one utterance of 16 kHz s16le. On abort the helper is killed (it cannot be interrupted
   * mid-utterance and would otherwise hold up every later request) and the abort reason is thrown.
   */
  async decode(pcm: Buffer, signal: AbortSignal | undefined): Promise<HelperResult> {
    if (this.exitError) throw this.exitError;
    const header = Buffer.alloc(4);
    header.writeUInt32LE(pcm.length, 0);
    this.child.stdin.write(header);
    this.child.stdin.write(pcm);
    const line = await this.nextLine(signal);
    const msg = parseJson(line);
    if (!msg || typeof msg.hyp !== 'string') {
      this.kill();
      const reason = typeof msg?.error === 'string' ? msg.error : `unexpected output ${line.slice(0, 200)}`;
      throw new HelperCrashedError(reason);
    }
    return msg as unknown as HelperResult;
  }

  /** Closes stdin so the helper exits on its own; kills it if it has not after a grace period. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin.end();
    const timer = setTimeout(() => this.kill(), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): void {
    // Marked dead at once, so the next request starts a new helper instead of writing to this one.
    this.fail(new HelperCrashedError('helper was stopped'));
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private onStdout(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve(line);
      } else {
        this.lines.push(line);
      }
    }
  }

  private fail(err: Error): void {
    this.exitError ??= err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.exitError);
  }

  private nextLine(signal: AbortSignal | undefined): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.exitError) return Promise.reject(this.exitError);
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => {
        this.waiter = undefined;
        this.kill();
        reject(abortReason(signal!));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.waiter = {
        resolve: (line) => {
          done();
          resolve(line);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
    });
  }
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
