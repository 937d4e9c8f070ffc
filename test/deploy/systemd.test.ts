/**
 * deploy/systemd: the units parse with systemd's own checker (unknown keys and bad values are reported),
 * carry the hardening the docs promise, and leave bubblewrap what it needs; bwrap itself is run the way
 * the unit runs June: an unprivileged user with no_new_privs set.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEPLOY } from './deploy-files.js';
import { hasTool, missingToolMessage, run } from './tools.js';

const UNITS = ['june.service', 'june-worker@.service'];
const read = (unit: string) => fs.readFileSync(path.join(DEPLOY, 'systemd', unit), 'utf8');
const keys = (unit: string) =>
  new Map(
    read(unit)
      .split('\n')
      .filter((l) => /^[A-Za-z]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]),
  );

const HAVE_ANALYZE = hasTool('systemd-analyze');
describe.skipIf(!HAVE_ANALYZE)(
  HAVE_ANALYZE ? 'systemd-analyze verify' : missingToolMessage('systemd-analyze', 'systemd'),
  () => {
    it('accepts both units without a warning', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-units-'));
      try {
        // verify wants ExecStart's program to exist: point it at this machine's node
        for (const unit of UNITS)
          fs.writeFileSync(path.join(dir, unit), read(unit).replaceAll('/usr/bin/node', process.execPath));
        fs.copyFileSync(path.join(dir, 'june-worker@.service'), path.join(dir, 'june-worker@voice.service'));
        const r = run('systemd-analyze', ['verify', './june.service', './june-worker@voice.service'], {
          cwd: dir,
        });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        // and it would have said so: an unknown key is reported
        fs.appendFileSync(path.join(dir, 'june.service'), '\n[Service]\nProtectEverything=yes\n');
        const bad = run('systemd-analyze', ['verify', './june.service'], { cwd: dir });
        expect(bad.stderr).toContain("Unknown key 'ProtectEverything'");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

describe('the systemd units', () => {
  it('are hardened, and keep the user namespaces and syscalls bubblewrap needs', () => {
    for (const unit of UNITS) {
      const k = keys(unit);
      for (const [key, value] of Object.entries({
        NoNewPrivileges: 'yes',
        ProtectSystem: 'strict',
        PrivateTmp: 'yes',
        ProtectHome: 'yes',
        User: 'june',
        StateDirectory: 'june',
      }))
        expect(k.get(key), `${unit} ${key}`).toBe(value);
      for (const forbidden of [
        'RestrictNamespaces',
        'PrivateUsers',
        'SystemCallFilter',
        'MemoryDenyWriteExecute',
      ])
        expect(k.has(forbidden), `${unit} ${forbidden}`).toBe(false);
      expect(Number(k.get('TimeoutStopSec'))).toBeGreaterThan(30); // longer than the drain
    }
    expect(keys('june-worker@.service').get('ExecStart')).toContain('worker --capabilities %i');
  });
});

const HAVE_BWRAP = hasTool('bwrap') && hasTool('setpriv');
describe.skipIf(!HAVE_BWRAP)(HAVE_BWRAP ? 'bubblewrap' : missingToolMessage('bwrap', 'bubblewrap'), () => {
  it('sandboxes a command as an unprivileged user under no_new_privs, as the units run June', () => {
    const r = run('setpriv', [
      ...(process.getuid?.() === 0 ? ['--reuid=65534', '--regid=65534', '--clear-groups'] : []),
      '--no-new-privs',
      'bwrap',
      '--unshare-user',
      '--unshare-pid',
      '--unshare-net',
      '--die-with-parent',
      '--ro-bind',
      '/',
      '/',
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      '--tmpfs',
      '/tmp',
      'sh',
      '-c',
      'grep NoNewPrivs /proc/self/status; echo pid=$$',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/NoNewPrivs:\s+1/);
    expect(r.stdout).toContain('pid=2'); // a new PID namespace: bwrap is 1, the command 2
    expect(r.status).toBe(0);
  });
});
