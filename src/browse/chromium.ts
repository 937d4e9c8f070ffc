/**
 * Whether the Chromium that the browse capability launches is there: the worker serves `browse` only
 * where it is (JUNE_BROWSE=auto), and `june doctor` says so. Only the file is looked at (present and
 * executable); starting it is left to the first browse task.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';

export interface ChromiumCheck {
  ok: boolean;
  detail: string;
}

export function chromiumPresent(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Present and executable, with its version when it answers `--version` within 5 s. */
export function checkChromium(file: string): Promise<ChromiumCheck> {
  if (!chromiumPresent(file)) return Promise.resolve({ ok: false, detail: `${file} not found` });
  return new Promise((resolve) => {
    execFile(file, ['--version'], { timeout: 5000 }, (_err, stdout) => {
      const version = stdout.split('\n')[0]?.trim();
      resolve({ ok: true, detail: version ? `${version.slice(0, 80)} (${file})` : file });
    });
  });
}
