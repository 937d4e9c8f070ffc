/**
 * Runs the `june` command from source, as tests need it: node with tsx's loader on src/cli/main.ts, so no
 * build is required and the code under test is the code in the tree.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

/** Node arguments that run `june <args>`; spawn them with process.execPath. */
export function juneArgv(args: readonly string[]): string[] {
  const loader = pathToFileURL(path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
  return ['--import', loader, path.join(repoRoot, 'src/cli/main.ts'), ...args];
}

export interface JuneRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `june <args>` to completion; never rejects (a failure is in `code` and `stderr`). */
export function execJune(
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<JuneRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      juneArgv(args),
      { cwd: options.cwd, env: options.env, timeout: options.timeoutMs ?? 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
