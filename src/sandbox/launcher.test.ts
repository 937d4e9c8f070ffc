/**
 * native/sandbox-launch against the chain it replaced (sh → setpriv → GNU time): the same exit codes,
 * signals as 128+N, and the rusage report (CPU and the largest resident set of the tree) through the
 * private stats descriptor. The rusage is checked on the `none` backend: under bubblewrap the outer bwrap
 * exits with its init's status without reaping it, so the tree's CPU is lost there with either launch path
 * (see docs/sandbox.md). The hostile cases run through the launcher in sandbox.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BubblewrapSandbox, checkBubblewrap } from './bubblewrap.js';
import { hasGnuTime, sandboxLauncher } from './contained.js';
import { DEFAULT_LIMITS } from './limits.js';
import { UnsandboxedRunner } from './none.js';

const bwrap = await checkBubblewrap();
const launcher = sandboxLauncher();
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'june-launcher-test-'));
fs.chmodSync(workspace, 0o755);
afterAll(() => fs.rmSync(workspace, { recursive: true, force: true }));
afterEach(() => {
  delete process.env.JUNE_SANDBOX_LAUNCHER;
});

// Burns ~0.4 s of CPU while holding ~60 MB resident, in a grandchild of the sandbox's first process.
const BURN = [
  '/bin/sh',
  '-c',
  `/usr/bin/python3 -c "
import time
b = bytearray(60 * 1024 * 1024)
for i in range(0, len(b), 4096): b[i] = 1
t = time.process_time()
while time.process_time() - t < 0.4: pass
"; exit 3`,
];

const modes = [
  { name: 'native launcher', env: undefined, available: launcher !== null },
  { name: 'old chain', env: 'chain', available: hasGnuTime },
];

describe.skipIf(!bwrap.ok)('sandbox launch paths', () => {
  it('builds the native launcher here (a C compiler is installed)', () => {
    expect(launcher).toMatch(/sandbox-launch$/);
  });

  for (const mode of modes) {
    it.skipIf(!mode.available)(
      `${mode.name}: exit code, signal and rusage of the whole tree`,
      { timeout: 60_000 },
      async () => {
        if (mode.env) process.env.JUNE_SANDBOX_LAUNCHER = mode.env;
        const burn = await new UnsandboxedRunner({ limits: DEFAULT_LIMITS }).exec(BURN, { workspace });
        expect(burn.exitCode).toBe(3);
        expect(burn.killedBy).toBeNull();
        expect(burn.cpuMs).toBeGreaterThanOrEqual(300);
        expect(burn.maxRssKb).toBeGreaterThanOrEqual(50 * 1024);
        const sandbox = new BubblewrapSandbox({ limits: DEFAULT_LIMITS });
        const ok = await sandbox.exec(['/bin/sh', '-c', 'exit 7'], { workspace });
        expect(ok.exitCode).toBe(7);
        const term = await sandbox.exec(['/bin/sh', '-c', 'echo out; kill -TERM $$'], { workspace });
        expect(term.stdout).toBe('out\n');
        expect(term.exitCode).toBe(143);
      },
    );
  }
});
