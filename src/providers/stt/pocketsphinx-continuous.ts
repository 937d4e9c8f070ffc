/**
 * Fallback decoding with Debian's stock `pocketsphinx_continuous`, one process per request. It reloads
 * the models every time (about a second of overhead) and gives no confidences, so it is only used when
 * the native helper cannot be built.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ProviderError } from '../../util/errors.js';
import { throwIfAborted } from '../../util/abort.js';
import { runProcess } from '../../util/process.js';

export const CONTINUOUS_BINARY = 'pocketsphinx_continuous';

/** Decodes 16 kHz s16le with one `pocketsphinx_continuous -infile` run; returns the hypothesis text. */
export async function decodeWithContinuous(
  pcm: Buffer,
  modelArgs: string[],
  signal: AbortSignal | undefined,
  binary = CONTINUOUS_BINARY,
): Promise<string> {
  throwIfAborted(signal);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'june-ps-'));
  try {
    // A ".raw" name makes pocketsphinx read headerless samples at its default -samprate (16000).
    const file = path.join(dir, 'utterance.raw');
    await writeFile(file, pcm);
    const args = ['-infile', file, '-logfn', '/dev/null', ...modelArgs];
    const result = await runProcess(binary, args, {
      ...(signal ? { signal } : {}),
      maxStderr: 4000,
      keepStderr: 'tail',
      spawnError: (err) =>
        new ProviderError('pocketsphinx', `cannot run ${binary}: ${err.message}`, {
          code: 'stt_engine_missing',
          userMessage: 'Speech recognition is not installed on this server.',
        }),
    });
    const { exitCode: code, stderr } = result;
    const stdout = result.stdout.toString('utf8');
    if (code !== 0) {
      throw new ProviderError('pocketsphinx', `${binary} exited with ${code}: ${stderr.trim().slice(-300)}`, {
        code: 'stt_engine_failed',
      });
    }
    // It prints one line per speech segment it finds.
    return stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
