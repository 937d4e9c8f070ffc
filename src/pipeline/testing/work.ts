/**
 * How the scripted engines spend "engine time": none by default (a turn runs in microseconds), or a given
 * number of milliseconds per second of audio, spent in small abortable slices so cancellation is honoured
 * mid-request as a real engine's is.
 */
import { abortReason, sleep } from '../../util/abort.js';

export async function work(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) throw abortReason(signal);
  for (let left = ms; left > 0; left -= 10) await sleep(Math.min(10, left), signal);
  // even without engine time, give the caller's abort a turn of the event loop
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal?.aborted) throw abortReason(signal);
}
