/**
 * The worker-thread side of opus-encode-pool.ts: encodes one reply at a time with the in-process
 * libopus (WASM) encoder, so the main thread's event loop never runs the codec.
 */
import { parentPort } from 'node:worker_threads';
import { encodeOggOpusInProcess, InProcessEncodeDeclined } from './opus-encode.js';

export interface EncodeJob {
  id: number;
  sampleRate: number;
  samples: Float32Array;
  bitrateKbps: number;
}

export type EncodeAnswer =
  { id: number; ok: true; data: Uint8Array } | { id: number; ok: false; declined: boolean; message: string };

parentPort?.on('message', (job: EncodeJob) => {
  encodeOggOpusInProcess(
    { sampleRate: job.sampleRate, samples: job.samples },
    { bitrateKbps: job.bitrateKbps },
  ).then(
    (buf) => {
      const data = new Uint8Array(buf.byteLength);
      data.set(buf);
      parentPort!.postMessage({ id: job.id, ok: true, data } satisfies EncodeAnswer, [data.buffer]);
    },
    (err: unknown) =>
      parentPort!.postMessage({
        id: job.id,
        ok: false,
        declined: err instanceof InProcessEncodeDeclined,
        message: err instanceof Error ? err.message : String(err),
      } satisfies EncodeAnswer),
  );
});
parentPort?.postMessage({ ready: true });
