/**
 * A real redis-server for tests and the queue benchmark: its own loopback port and temp directory,
 * stopped (or killed, or restarted on the same port and data) on demand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** Graceful stop (SIGTERM); the data stays in `dir`. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory (after stop or kill). */
  start(): Promise<void>;
  /** Stops it and deletes its directory. */
  destroy(): Promise<void>;
}

export interface RedisServerOptions {
  /** Append-only file with fsync on every write: nothing acknowledged is lost across kill -9. */
  persistent?: boolean;
  binary?: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    // while loading the AOF, redis answers -LOADING: not ready yet
    sock.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

function exited(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
  });
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? process.env.JUNE_REDIS_SERVER ?? '/usr/bin/redis-server';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-redis-'));
  let port = await freePort();
  let proc: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--save', '',
      '--appendonly', options.persistent ? 'yes' : 'no',
      '--appendfsync', 'always',
      '--maxmemory-policy', 'noeviction',
      '--daemonize', 'no',
    ]; // prettier-ignore
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    proc = child;
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${stderr.trim()}`);
      if (await ping(port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGKILL');
    throw new Error('redis-server did not start within 5 s');
  };

  for (let attempt = 0; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      // another process took the port between probing and binding: try another one
      if (attempt >= 3) throw err;
      port = await freePort();
    }
  }

  const signal = async (sig: NodeJS.Signals) => {
    if (!proc) return;
    const p = proc;
    proc = undefined;
    p.kill(sig);
    await exited(p);
  };

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    start: launch,
    destroy: async () => {
      await signal('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
