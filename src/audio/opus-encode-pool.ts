/**
 * OGG/Opus reply encoding on worker threads, so encoding 20 replies at once does not hold up the HTTP
 * API: in-process encoding is time-sliced, but every slice still runs on the event loop, and with many
 * replies in flight a request waits behind all their slices (bench/results/voice.md measured it).
 *
 * A small pool (up to 2 threads, fewer on a 1-core machine) is started on first use and kept; each thread
 * encodes one reply at a time. The PCM is copied once and that copy moved to the thread; the OGG bytes are
 * moved back.
 * When a thread cannot be started (a runtime without worker threads, the TypeScript loader missing when
 * run from source) the pool says so once and the caller encodes in-process, as before. A cancelled
 * caller is answered at once; its thread finishes the (short) job and takes the next.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PcmAudio } from './pcm-audio.js';
import { abortReason, throwIfAborted } from '../util/abort.js';
import { getLogger } from '../observability/logger.js';
import { InProcessEncodeDeclined } from './opus-encode.js';
import type { EncodeAnswer, EncodeJob } from './opus-encode-worker.js';

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  busy: boolean;
}

interface Pending {
  job: EncodeJob;
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}

/** Thrown when no worker thread can run: encode in-process instead. */
export class EncodePoolUnavailable extends Error {
  override readonly name = 'EncodePoolUnavailable';
}

const MAX_THREADS = 2;
let slots: Slot[] | undefined;
let unavailable: string | undefined;
const waiting: Pending[] = [];
const inFlight = new Map<number, { slot: Slot; pending: Pending }>();
let nextId = 1;

/**
 * The thread's code. Built code runs the .js worker as is; from source (tsx, vitest) the .ts worker is
 * loaded through tsx's API, which must then be installed (it is a development dependency).
 */
function newWorker(): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./opus-encode-worker.js', import.meta.url));
  const worker = new URL('./opus-encode-worker.ts', import.meta.url).href;
  // tsx's ESM entry (its "import" export), found beside its package.json
  const tsxDir = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const api = pathToFileURL(path.join(tsxDir, 'dist/esm/api/index.mjs')).href;
  const code = `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(worker)}, ${JSON.stringify(worker)}))`;
  return new Worker(code, { eval: true });
}

function startSlot(): Slot {
  const worker = newWorker();
  worker.unref(); // an idle thread never keeps the process alive
  const slot: Slot = { worker, busy: false, ready: Promise.resolve() };
  slot.ready = new Promise<void>((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if ((m as { ready?: boolean }).ready) {
        worker.off('error', onError);
        resolve();
      }
    };
    const onError = (err: Error) => reject(err);
    worker.once('message', onMessage);
    worker.once('error', onError);
  });
  worker.on('message', (m: EncodeAnswer | { ready: true }) => {
    if ('ready' in m) return;
    const entry = inFlight.get(m.id);
    if (!entry) return;
    inFlight.delete(m.id);
    slot.busy = false;
    slot.worker.unref();
    if (m.ok) entry.pending.resolve(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
    else entry.pending.reject(m.declined ? new InProcessEncodeDeclined(m.message) : new Error(m.message));
    pump();
  });
  worker.on('error', (err) => failSlot(slot, err));
  worker.on('exit', (code) => failSlot(slot, new Error(`encoder thread exited (${code})`)));
  return slot;
}

/** A thread died: its job fails (the caller falls back in-process) and the slot is replaced. */
function failSlot(slot: Slot, err: Error): void {
  if (!slots?.includes(slot)) return;
  slots = slots.filter((s) => s !== slot);
  for (const [id, entry] of inFlight)
    if (entry.slot === slot) {
      inFlight.delete(id);
      entry.pending.reject(new EncodePoolUnavailable(err.message));
    }
  if (slots.length === 0) {
    unavailable ??= err.message;
    for (const p of waiting.splice(0)) p.reject(new EncodePoolUnavailable(err.message));
  }
}

function pump(): void {
  for (const slot of slots ?? []) {
    if (slot.busy) continue;
    const next = waiting.shift();
    if (!next) return;
    slot.busy = true;
    slot.worker.ref(); // a job in flight keeps the process alive (`june speak` awaits nothing else)
    inFlight.set(next.job.id, { slot, pending: next });
    slot.worker.postMessage(next.job, [next.job.samples.buffer as ArrayBuffer]);
  }
}

async function pool(): Promise<Slot[]> {
  if (unavailable) throw new EncodePoolUnavailable(unavailable);
  if (!slots) {
    const n = Math.max(1, Math.min(MAX_THREADS, os.availableParallelism() - 1));
    slots = Array.from({ length: n }, startSlot);
  }
  const current = slots;
  try {
    await Promise.all(current.map((s) => s.ready));
  } catch (err) {
    unavailable = (err as Error).message;
    slots = undefined;
    await Promise.allSettled(current.map((s) => s.worker.terminate()));
    getLogger().warn(
      { err: unavailable },
      'OGG/Opus encoder threads cannot start; encoding on the main thread',
    );
    throw new EncodePoolUnavailable(unavailable);
  }
  return current;
}

/** Encodes mono PCM to OGG/Opus on a worker thread. Rejects with EncodePoolUnavailable when none can run. */
export async function encodeOggOpusOffThread(
  pcm: PcmAudio,
  opts: { bitrateKbps: number; signal?: AbortSignal },
): Promise<Buffer> {
  throwIfAborted(opts.signal);
  await pool();
  throwIfAborted(opts.signal);
  const job: EncodeJob = {
    id: nextId++,
    sampleRate: pcm.sampleRate,
    samples: pcm.samples.slice(), // the job's own copy (a memcpy), moved to the thread
    bitrateKbps: opts.bitrateKbps,
  };
  return new Promise<Buffer>((resolve, reject) => {
    const signal = opts.signal;
    const onAbort = () => {
      const i = waiting.findIndex((p) => p.job === job);
      if (i >= 0) waiting.splice(i, 1);
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    waiting.push({
      job,
      resolve: (b) => {
        done();
        resolve(b);
      },
      reject: (e) => {
        done();
        reject(e);
      },
    });
    pump();
  });
}
