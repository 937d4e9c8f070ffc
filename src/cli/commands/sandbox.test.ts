/** `june sandbox exec` end to end: the real CLI, the real bubblewrap, exit codes and the JSON shape. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execJune, repoRoot } from '../../../test/helpers/june-cli.js';
import { checkBubblewrap } from '../../sandbox/factory.js';

const bwrap = await checkBubblewrap();
const env = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: os.tmpdir(),
  JUNE_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'june-cli-sbx-')),
  ...extra,
});

describe.skipIf(!bwrap.ok)('june sandbox exec (bubblewrap)', () => {
  it("exits with the command's code and prints its output", async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'june-cli-ws-'));
    const r = await execJune(
      ['sandbox', 'exec', '--workspace', ws, '--', '/bin/sh', '-c', 'echo made > f.txt; echo out; exit 7'],
      { cwd: repoRoot, env: env() },
    );
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('out\n');
    expect(fs.readFileSync(path.join(ws, 'f.txt'), 'utf8')).toBe('made\n');
  });

  it('exits 124 on timeout and prints every JSON field', async () => {
    const r = await execJune(['sandbox', 'exec', '--timeout', '1', '--json', '--', 'sleep', '30'], {
      cwd: repoRoot,
      env: env(),
    });
    expect(r.code).toBe(124);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(json).sort()).toEqual(
      ['cpuMs', 'exitCode', 'killedBy', 'maxRssKb', 'stderr', 'stdout', 'timedOut', 'wallMs'].sort(),
    );
    expect(json).toMatchObject({ exitCode: 124, timedOut: true, killedBy: 'timeout' });
  });

  it('rejects a bad --timeout with a clear message', async () => {
    const r = await execJune(['sandbox', 'exec', '--timeout', 'soon', '--', 'true'], {
      cwd: repoRoot,
      env: env(),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--timeout must be a positive number');
  });
});

describe('june doctor and JUNE_SANDBOX=none', () => {
  it('warns loudly', async () => {
    const r = await execJune(['doctor'], { cwd: repoRoot, env: env({ JUNE_SANDBOX: 'none' }) });
    expect(r.stdout).toMatch(/sandbox \(none\).*WARNING: JUNE_SANDBOX=none.*NO isolation/);
  });
});
