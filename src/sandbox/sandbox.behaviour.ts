/**
 * The behaviour every Sandbox backend must show, hostile cases included. Each case runs a real command
 * through the real backend and then checks two things: the sandbox held (the host is unchanged, the
 * limit fired), and nothing was left behind (no process carrying the run's marker is alive afterwards).
 *
 * Resource limits hold for every backend, `none` included. Isolation cases (network, files outside the
 * workspace, host processes, June's environment) run only for backends that claim to isolate; for `none`
 * one case checks that it indeed does not, so the documentation stays true.
 *
 * Commands use /usr/bin/python3 and /bin/sh: what a sandbox sees of the host system, nothing of the user's.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { diskUsage } from './disk-usage.js';
import type { ExecOptions, ExecResult, Sandbox } from './types.js';

export type MakeSandbox = () => Sandbox | Promise<Sandbox>;

const PY = '/usr/bin/python3';

/** Host processes whose environment carries `SBX_MARK=<mark>`. */
export function processesMarked(mark: string): number[] {
  const needle = Buffer.from(`SBX_MARK=${mark}\0`);
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/environ`).includes(needle)) found.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** Zombie processes on the host (their environment can no longer be read, so no mark finds them). */
function zombies(): number {
  let n = 0;
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // the state follows the command name in parentheses, which may itself hold spaces
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') n++;
    } catch {
      // gone
    }
  }
  return n;
}

/** Polls until no marked process is left (killed trees take a moment to be reaped). */
async function expectNothingLeft(mark: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  let left = processesMarked(mark);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = processesMarked(mark);
  }
  expect(left, 'processes of the run still alive').toEqual([]);
}

export function describeSandboxBehaviour(
  name: string,
  make: MakeSandbox,
  options: { isolates: boolean },
): void {
  describe(`Sandbox behaviour: ${name}`, () => {
    let sandbox: Sandbox;
    let root: string;
    let workspace: string;
    let mark: string;

    beforeAll(async () => {
      sandbox = await make();
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'june-sbx-test-'));
      // Reachable by the unprivileged user `none` runs commands as when the tests run as root.
      fs.chmodSync(root, 0o755);
    });
    afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
    beforeEach(() => {
      workspace = fs.mkdtempSync(path.join(root, 'ws-'));
      mark = randomUUID();
    });

    const run = (command: string[], options: Partial<ExecOptions> = {}): Promise<ExecResult> =>
      sandbox.exec(command, {
        workspace,
        timeoutMs: 30_000,
        ...options,
        env: { SBX_MARK: mark, ...options.env },
      });
    const sh = (script: string, options: Partial<ExecOptions> = {}) =>
      run(['/bin/sh', '-c', script], options);

    it('runs a command in the workspace with stdin, env and exit code', async () => {
      const r = await sh('cat > got.txt; echo "out:$GREETING"; echo err >&2; pwd; exit 3', {
        stdin: 'from stdin',
        env: { GREETING: 'hello' },
      });
      expect(r.exitCode).toBe(3);
      expect(r.stdout).toContain('out:hello');
      expect(r.stderr.trim()).toBe('err');
      expect(r.timedOut).toBe(false);
      expect(r.killedBy).toBeNull();
      expect(r.wallMs).toBeGreaterThan(0);
      expect(fs.readFileSync(path.join(workspace, 'got.txt'), 'utf8')).toBe('from stdin');
      await expectNothingLeft(mark);
    });

    it('runs the system python', async () => {
      const r = await run([PY, '-c', 'import sys; print(sys.version_info[0])']);
      expect(r.stdout.trim()).toBe('3');
    });

    it('keeps the head and tail of 1 GB of output and notes the elided middle', async () => {
      const r = await sh('echo FIRST; head -c 1000000000 /dev/zero | tr "\\0" "x"; echo; echo LAST', {
        timeoutMs: 300_000,
      });
      expect(r.exitCode).toBe(0);
      expect(r.stdout.startsWith('FIRST\n')).toBe(true);
      expect(r.stdout.trimEnd().endsWith('LAST')).toBe(true);
      expect(r.stdout).toMatch(/\[… \d+ bytes of output elided …\]/);
      expect(r.stdout.length).toBeLessThan(1024 * 1024);
      await expectNothingLeft(mark);
    });

    it('kills an infinite loop and its grandchildren at the timeout', async () => {
      const loop = 'while :; do :; done';
      const r = await sh(`(sh -c '${loop}' &); sh -c '${loop}' & ${loop}`, { timeoutMs: 1500 });
      expect(r.timedOut).toBe(true);
      expect(r.killedBy).toBe('timeout');
      expect(r.exitCode).toBe(124);
      await expectNothingLeft(mark);
    });

    it('returns when the command exits even if a daemonised child keeps its output open', async () => {
      const r = await sh("setsid sh -c 'sleep 1000' & echo started", { timeoutMs: 600_000 });
      expect(r.exitCode).toBe(0);
      expect(r.timedOut).toBe(false);
      expect(r.stdout).toContain('started');
      // An isolating backend took the daemon down with the run; `none` cannot (documented): clean up here.
      if (options.isolates) await expectNothingLeft(mark);
      for (const pid of processesMarked(mark)) process.kill(pid, 'SIGKILL');
    });

    it('holds a fork bomb', async () => {
      const zombiesBefore = zombies();
      const r = await sh('bomb() { bomb | bomb & }; bomb; wait', { timeoutMs: 5000 });
      // Either fork failed (the process limit held) or the timeout ended it; the host stayed usable.
      expect(r.timedOut || /fork|resource/i.test(r.stderr)).toBe(true);
      await expectNothingLeft(mark);
      // The bomb's orphans are reaped by the host's init, which may take a moment; until then they still
      // count against the sandbox user's process limit, so the next case would fail to fork.
      const deadline = Date.now() + 30_000;
      while (zombies() > zombiesBefore && Date.now() < deadline)
        await new Promise((res) => setTimeout(res, 100));
      // The host can still start processes.
      expect(spawnSync('/bin/true').status).toBe(0);
    });

    it('holds a memory bomb', async () => {
      const r = await run([PY, '-c', 'x = []\nwhile True: x.append(bytearray(16 << 20))'], {
        memoryMb: 256,
      });
      expect(r.exitCode).not.toBe(0);
      expect(r.timedOut).toBe(false);
      await expectNothingLeft(mark);
    });

    it('stops a process at its CPU-time limit', async () => {
      const r = await sh('while :; do :; done', { cpuSeconds: 1, timeoutMs: 120_000 });
      expect(r.killedBy).toBe('cpu');
      expect(r.exitCode).toBe(137);
      await expectNothingLeft(mark);
    });

    it('stops a file past the file-size limit and a workspace filled past its quota', async () => {
      const big = await sh('head -c 400000000 /dev/zero > big.bin');
      expect(big.killedBy).toBe('file_size');
      expect(fs.statSync(path.join(workspace, 'big.bin')).size).toBeLessThanOrEqual(256 * 1024 * 1024);
      fs.rmSync(path.join(workspace, 'big.bin'));

      const fill = await sh('i=0; while :; do head -c 50000000 /dev/zero > f$i; i=$((i+1)); done', {
        timeoutMs: 120_000,
      });
      expect(fill.killedBy).toBe('disk');
      expect(fill.exitCode).toBe(137);
      // The quota is 1 GiB by default; without the watchdog the loop would write until the timeout.
      expect((await diskUsage(workspace)).bytes).toBeLessThan(4 * 1024 ** 3);
      await expectNothingLeft(mark);
    });

    if (!options.isolates) {
      it('does not isolate (documented): a host file outside the workspace is readable', async () => {
        const outside = path.join(root, `outside-${mark}.txt`);
        fs.writeFileSync(outside, 'host file', { mode: 0o644 });
        const r = await sh(`cat ${outside}`);
        expect(r.stdout).toBe('host file');
      });
      return;
    }

    describe('isolation', () => {
      let server: net.Server;
      let port: number;
      let connections = 0;
      let hostProcess: ChildProcess;
      const secret = `sk-june-secret-${randomUUID()}`;
      const hostMark = `host-process-${randomUUID()}`;

      beforeAll(async () => {
        server = net.createServer((s) => {
          connections++;
          s.end('hello from the host\n');
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        port = (server.address() as net.AddressInfo).port;
        // One process with the marker in its command line (a shell would leave its sleep behind when killed).
        hostProcess = spawn(PY, ['-c', 'import time; time.sleep(1000)', hostMark], { stdio: 'ignore' });
        process.env.JUNE_LLM_API_KEY = secret;
      });
      afterAll(async () => {
        delete process.env.JUNE_LLM_API_KEY;
        hostProcess.kill('SIGKILL');
        await new Promise<void>((resolve) => server.close(() => resolve()));
      });

      it('has no network: neither a server on host 127.0.0.1 nor name resolution', async () => {
        const r = await run([
          PY,
          '-c',
          [
            'import socket',
            'try:',
            `    socket.create_connection(("127.0.0.1", ${port}), timeout=5); print("CONNECTED")`,
            'except OSError as e: print("refused", e)',
            'try:',
            '    socket.getaddrinfo("example.com", 80); print("RESOLVED")',
            'except OSError as e: print("no dns", e)',
          ].join('\n'),
        ]);
        expect(r.stdout).not.toContain('CONNECTED');
        expect(r.stdout).not.toContain('RESOLVED');
        expect(r.stdout).toContain('refused');
        expect(r.stdout).toContain('no dns');
        expect(connections).toBe(0);
        await expectNothingLeft(mark);
      });

      it('cannot write outside the workspace: /etc, $HOME, ../, or through a symlink', async () => {
        const home = os.homedir();
        const tag = `june-sbx-${mark}`;
        const hostFile = path.join(root, `target-${mark}.txt`);
        fs.writeFileSync(hostFile, 'original', { mode: 0o666 });
        fs.symlinkSync(hostFile, path.join(workspace, 'link'));
        const r = await sh(
          [
            `echo x > /etc/${tag}`,
            `echo x > ${home}/${tag}`,
            `echo x > ../${tag}`,
            `echo x > ${path.dirname(workspace)}/${tag}`,
            'echo pwned > link',
            `mkdir -p ${home}/.ssh && echo x > ${home}/.ssh/${tag}`,
            'true',
          ].join('; '),
        );
        expect(r.exitCode).toBe(0);
        for (const p of [
          `/etc/${tag}`,
          path.join(home, tag),
          path.join(path.dirname(workspace), tag),
          path.join(home, '.ssh', tag),
        ])
          expect(fs.existsSync(p), p).toBe(false);
        expect(fs.readFileSync(hostFile, 'utf8')).toBe('original');
        await expectNothingLeft(mark);
      });

      it("cannot read ~/.ssh, the host's home or June's data directory", async () => {
        const dataDir = fs.mkdtempSync(path.join(root, 'june-data-'));
        fs.writeFileSync(path.join(dataDir, 'tasks.db'), `the data ${mark}`, { mode: 0o644 });
        const r = await sh(
          `cat ${os.homedir()}/.ssh/* ${dataDir}/tasks.db /etc/shadow; ls -a ${os.homedir()}; true`,
        );
        expect(r.stdout).not.toContain(mark);
        expect(r.stdout).not.toMatch(/root:|BEGIN .* PRIVATE KEY/);
        await expectNothingLeft(mark);
      });

      it('cannot see or signal host processes', async () => {
        const pid = hostProcess.pid!;
        // The marker is written reversed so that this script's own command line does not contain it.
        const r = await run([
          PY,
          '-c',
          [
            'import os, signal',
            `mark = "${hostMark.split('').reverse().join('')}"[::-1]`,
            `try: os.kill(${pid}, signal.SIGKILL); print("KILLED")`,
            'except OSError as e: print("no kill", e)',
            'pids = [p for p in os.listdir("/proc") if p.isdigit()]',
            'seen = 0',
            'for p in pids:',
            '    try: seen += mark in open("/proc/%s/cmdline" % p).read()',
            '    except OSError: pass',
            'print("seen", seen, "visible", len(pids))',
          ].join('\n'),
        ]);
        expect(r.stdout).not.toContain('KILLED');
        const m = /seen (\d+) visible (\d+)/.exec(r.stdout);
        expect(m, r.stdout + r.stderr).not.toBeNull();
        expect(Number(m![1])).toBe(0);
        expect(Number(m![2])).toBeLessThan(10);
        expect(hostProcess.exitCode).toBeNull();
        expect(() => process.kill(pid, 0)).not.toThrow();
        await expectNothingLeft(mark);
      });

      it('kills a daemonised (setsid) grandchild with the run', async () => {
        const r = await sh("setsid sh -c 'while :; do :; done' > /dev/null 2>&1 & sleep 60", {
          timeoutMs: 1500,
        });
        expect(r.killedBy).toBe('timeout');
        await expectNothingLeft(mark);
      });

      it("cannot read June's environment", async () => {
        const r = await sh('env; cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n"; true');
        expect(r.stdout).not.toContain(secret);
        expect(r.stdout).not.toMatch(/^JUNE_/m);
        await expectNothingLeft(mark);
      });
    });
  });
}
