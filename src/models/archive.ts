/**
 * Unpacking model archives (sherpa-onnx publishes its voices as .tar.bz2) into the model cache.
 *
 * The archive is unpacked by the system's tar (with bzip2) into a temporary directory beside the target,
 * then renamed into place with a marker file written last, so a directory without the marker is an
 * interrupted unpack and is done again. Archives hold one top directory named like the archive; its
 * contents become the target. Members that would land outside the directory (absolute paths, "..")
 * are refused by GNU tar by default, and `--no-same-owner` keeps a root run from chowning files.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ModelError } from '../util/errors.js';
import { runProcess } from '../util/process.js';

/** Written last: its presence means the directory is complete. */
export const EXTRACTED_MARKER = '.june-extracted';

export function isExtracted(dir: string): boolean {
  return fs.existsSync(path.join(dir, EXTRACTED_MARKER));
}

export interface ExtractOptions {
  signal?: AbortSignal;
  /** Model name for messages. */
  label: string;
}

/** Unpacks `archive` (.tar.bz2) so that its top directory's contents end up in `dest`. */
export async function extractArchive(archive: string, dest: string, options: ExtractOptions): Promise<void> {
  const tmp = `${dest}.unpacking-${process.pid}`;
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.mkdir(tmp, { recursive: true });
  try {
    const result = await runProcess('tar', ['-xjf', archive, '-C', tmp, '--no-same-owner'], {
      ...(options.signal ? { signal: options.signal } : {}),
      maxStderr: 2000,
      keepStderr: 'tail',
      spawnError: (err) =>
        new ModelError(
          'model_download_failed',
          `Cannot unpack model ${options.label}: tar is not installed (${err.message}). Install tar and bzip2.`,
          err,
        ),
    });
    if (result.exitCode !== 0) {
      await fsp.rm(archive, { force: true });
      throw new ModelError(
        'model_invalid',
        `The archive of model ${options.label} could not be unpacked (${result.stderr.trim().split('\n').slice(-1)[0] ?? `tar exit ${result.exitCode}`}); it was removed, run June again to download it afresh.`,
      );
    }
    const entries = await fsp.readdir(tmp);
    // One top directory (the usual layout): its contents are the model. Otherwise take everything.
    const only = entries.length === 1 ? path.join(tmp, entries[0]!) : undefined;
    const root = only && (await fsp.stat(only)).isDirectory() ? only : tmp;
    await fsp.writeFile(path.join(root, EXTRACTED_MARKER), new Date().toISOString() + '\n');
    await fsp.rm(dest, { recursive: true, force: true });
    await fsp.rename(root, dest);
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}
