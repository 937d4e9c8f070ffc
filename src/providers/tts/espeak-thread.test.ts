/**
 * espeak-ng on its worker thread: the process is started there and its WAV decoded there; what comes back
 * is the audio, a failure to start, or a cancellation.
 */
import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../util/errors.js';
import { EspeakSpawnError, espeakOffThread } from './espeak-thread.js';

describe('espeak-ng off the event loop', () => {
  it('runs espeak-ng on the thread and gives back its audio, decoded', async () => {
    const r = await espeakOffThread('espeak-ng', ['-v', 'en-us', '--stdout'], 'Hello there, how are you?', {
      maxStderr: 2000,
    });
    expect(r.exitCode).toBe(0);
    expect(r.pcm?.sampleRate).toBe(22_050);
    const samples = r.pcm?.samples ?? new Float32Array(0);
    expect(samples.length / 22_050).toBeGreaterThan(0.5);
    expect(samples.some((x) => Math.abs(x) > 0.05)).toBe(true);
  });

  it('says when the program cannot be started, and keeps working', async () => {
    const missing = espeakOffThread('/nonexistent/espeak-ng', ['--stdout'], 'Hello.', { maxStderr: 2000 });
    await expect(missing).rejects.toBeInstanceOf(EspeakSpawnError);
    await expect(missing).rejects.toMatchObject({ code: 'ENOENT' });
    // a program that fails: its status and the end of its stderr come back, and no audio
    const bad = await espeakOffThread('/bin/sh', ['-c', 'echo "voice does not exist" >&2; exit 3'], '', {
      maxStderr: 10,
    });
    expect(bad).toEqual({ exitCode: 3, stderr: 'not exist\n' });
  });

  it('rejects at once when cancelled', async () => {
    const controller = new AbortController();
    const long = 'This is a long sentence that takes espeak-ng a while to speak. '.repeat(200);
    const pending = espeakOffThread('espeak-ng', ['-v', 'en-us', '--stdout'], long, {
      signal: controller.signal,
      maxStderr: 2000,
    });
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    const after = await espeakOffThread('espeak-ng', ['-v', 'en-us', '--stdout'], 'Still here.', {
      maxStderr: 2000,
    });
    expect(after.pcm?.samples.length).toBeGreaterThan(0);
  });
});
