/** External validators the deploy tests run (installed by scripts/setup.sh); a test skips, saying why, without one. */
import { execFileSync, spawnSync } from 'node:child_process';

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

export function missingToolMessage(name: string, pkg: string): string {
  return `${name} is not installed (Debian package ${pkg}; scripts/setup.sh installs it): skipped`;
}

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options, timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export { execFileSync };
