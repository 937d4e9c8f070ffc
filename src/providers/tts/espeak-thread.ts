/**
 * espeak-ng runs off the event loop: its processes are started, and their WAV output decoded, on one
 * worker thread (espeak-thread-worker.ts). Starting a process forks June's whole process, which bench:voice
 * measured at tens of milliseconds of main-thread time per sentence on a loaded 2-core machine (2.6 s of
 * the event loop's time while 20 replies were spoken), holding up every HTTP request meanwhile.
 *
 * The thread starts on first use and is kept (unreferenced while idle). When it cannot start (a runtime
 * without worker threads, the TypeScript loader missing when run from source) `espeakOffThread` rejects
 * with EspeakThreadUnavailable, once logged, and the caller runs espeak-ng on the main thread as before.
 * A cancelled caller is answered at once and its process is killed.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PcmAudio } from '../types.js';
import { abortReason, throwIfAborted } from '../../util/abort.js';
import { getLogger } from '../../observability/logger.js';
import type { EspeakAnswer, EspeakCancel, EspeakJob } from './espeak-thread-worker.js';

/** Thrown when the thread cannot run: run espeak-ng on the main thread instead. */
export class EspeakThreadUnavailable extends Error {
  override readonly name = 'EspeakThreadUnavailable';
}

/** What one espeak-ng run gave: its exit status, stderr's end, and the decoded audio when it wrote any. */
export interface EspeakRun {
  exitCode: number | null;
  stderr: string;
  pcm?: PcmAudio;
}

/** The program could not be started (`code` ENOENT: not installed). */
export class EspeakSpawnError extends Error {
  override readonly name = 'EspeakSpawnError';
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

interface Thread {
  worker: Worker;
  ready: Promise<void>;
}

const waiting = new Map<number, { resolve: (r: EspeakRun) => void; reject: (e: Error) => void }>();
let thread: Thread | undefined;
let unavailable: string | undefined;
let nextId = 1;

/** Built code runs the .js worker as is; from source (tsx, vitest) the .ts one through tsx's API. */
function newWorker(): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./espeak-thread-worker.js', import.meta.url));
  const worker = new URL('./espeak-thread-worker.ts', import.meta.url).href;
  const tsxDir = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const api = pathToFileURL(path.join(tsxDir, 'dist/esm/api/index.mjs')).href;
  const code = `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(worker)}, ${JSON.stringify(worker)}))`;
  return new Worker(code, { eval: true });
}

function fail(t: Thread, err: Error): void {
  if (thread !== t) return;
  thread = undefined;
  for (const [id, w] of waiting) {
    waiting.delete(id);
    w.reject(new EspeakThreadUnavailable(err.message));
  }
}

function start(): Thread {
  const worker = newWorker();
  worker.unref();
  const t: Thread = { worker, ready: Promise.resolve() };
  t.ready = new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    worker.once('error', onError);
    worker.once('message', (m: { ready?: boolean }) => {
      if (!m.ready) return;
      worker.off('error', onError);
      resolve();
    });
  });
  worker.on('message', (m: EspeakAnswer | { ready: true }) => {
    if ('ready' in m) return;
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (waiting.size === 0) worker.unref();
    if (m.kind === 'spawn_error') w.reject(new EspeakSpawnError(m.message, m.code));
    else if (m.kind === 'bad_output') w.reject(new Error(`unreadable WAV output: ${m.message}`));
    else
      w.resolve({
        exitCode: m.exitCode,
        stderr: m.stderr,
        ...(m.samples && m.sampleRate ? { pcm: { sampleRate: m.sampleRate, samples: m.samples } } : {}),
      });
  });
  worker.on('error', (err) => fail(t, err));
  worker.on('exit', (code) => fail(t, new Error(`espeak-ng thread exited (${code})`)));
  return t;
}

async function ready(): Promise<Thread> {
  if (unavailable) throw new EspeakThreadUnavailable(unavailable);
  const t = (thread ??= start());
  try {
    await t.ready;
  } catch (err) {
    unavailable = (err as Error).message;
    thread = undefined;
    await t.worker.terminate().catch(() => undefined);
    getLogger().warn(
      { err: unavailable },
      'espeak-ng thread cannot start; running espeak-ng on the main thread',
    );
    throw new EspeakThreadUnavailable(unavailable);
  }
  return t;
}

/**
 * Runs espeak-ng with `input` on stdin on the thread and decodes the WAV it writes. Rejects with
 * EspeakSpawnError when it cannot be started, EspeakThreadUnavailable when the thread cannot run.
 */
export async function espeakOffThread(
  binary: string,
  args: string[],
  input: string,
  opts: { signal?: AbortSignal; maxStderr: number },
): Promise<EspeakRun> {
  const { signal } = opts;
  throwIfAborted(signal);
  const t = await ready();
  throwIfAborted(signal);
  const job: EspeakJob = { id: nextId++, binary, args, input, maxStderr: opts.maxStderr };
  return new Promise<EspeakRun>((resolve, reject) => {
    const onAbort = () => {
      waiting.delete(job.id);
      if (waiting.size === 0) t.worker.unref();
      t.worker.postMessage({ cancel: job.id } satisfies EspeakCancel);
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    waiting.set(job.id, {
      resolve: (r) => {
        done();
        resolve(r);
      },
      reject: (e) => {
        done();
        reject(e);
      },
    });
    t.worker.ref(); // a sentence in flight keeps the process alive (`june speak` awaits nothing else)
    t.worker.postMessage(job);
  });
}
