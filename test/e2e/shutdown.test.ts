/**
 * `june start` stops within its drain deadline whatever its peers do: real processes against a Discord
 * gateway that went away (discord.js reconnects forever), an LLM server that accepts connections and
 * never answers (a task hangs in it), and a Telegram API that never answers (the start itself hangs).
 * Nothing accepted is lost: the hanging task is still in the queue afterwards. A second signal exits at
 * once. The waits below only bound a test that would otherwise hang; nothing asserts how long a step took.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { openTaskQueue } from '../../src/tasks/open-queue.js';
import { eventually } from '../../src/tasks/testing/eventually.js';
import type { Task } from '../../src/tasks/types.js';
import { startFakeDiscordServer, type FakeDiscordServer } from '../helpers/fake-discord-server.js';
import { juneArgv } from '../helpers/june-cli.js';
import { makeTempDir } from '../helpers/speech-fixtures.js';

/** Accepts connections and never answers: a server that hangs. */
async function hangingServer(): Promise<{ url: string; accepted(): number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

interface JuneProcess {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const running: ChildProcess[] = [];
let hang: Awaited<ReturnType<typeof hangingServer>>;
let dir: string;

beforeAll(async () => {
  hang = await hangingServer();
});
afterEach(() => {
  for (const p of running.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
});
afterAll(async () => {
  await hang?.close();
});

function spawnJune(env: Record<string, string>): JuneProcess {
  const proc = spawn(process.execPath, juneArgv(['start', '--no-web']), {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      JUNE_DATA_DIR: path.join(dir, 'data'),
      JUNE_MODELS_DIR: path.join(dir, 'models'),
      JUNE_STT: 'pocketsphinx',
      JUNE_LLM: 'openai',
      JUNE_LLM_BASE_URL: `${hang.url}/v1`,
      JUNE_LLM_RETRIES: '0',
      // no stage limits: the task hangs in the LLM for as long as the server does
      JUNE_LLM_TIMEOUT_MS: '0',
      JUNE_LLM_FIRST_TOKEN_TIMEOUT_MS: '0',
      JUNE_LLM_IDLE_TIMEOUT_MS: '0',
      JUNE_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, output: () => out, exited };
}

/** The exit code, or a failure naming what the process printed if it does not exit at all. */
async function exitOf(june: JuneProcess, what: string): Promise<number | null> {
  const bound = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 90_000).unref());
  const code = await Promise.race([june.exited, bound]);
  if (code === 'hung')
    throw new Error(`june start did not exit after ${what}:\n${june.output().slice(-3000)}`);
  return code;
}

async function tasksOnDisk(): Promise<Task[]> {
  const queue = await openTaskQueue(loadConfig({ env: { JUNE_DATA_DIR: path.join(dir, 'data') } }));
  try {
    return await queue.list({ limit: 100 });
  } finally {
    await queue.close();
  }
}

describe('june start shutdown', () => {
  let discord: FakeDiscordServer;

  const startWithDiscord = async (drainMs: number) => {
    dir = await makeTempDir('june-shutdown-');
    discord = await startFakeDiscordServer();
    const ada = discord.user('ada');
    const june = spawnJune({
      JUNE_DISCORD_TOKEN: discord.token,
      JUNE_DISCORD_API_BASE: discord.apiBase,
      JUNE_DISCORD_GATEWAY_URL: discord.gatewayUrl,
      JUNE_ALLOW_USERS: `discord:${ada.id}`,
      JUNE_DRAIN_TIMEOUT_MS: String(drainMs),
    });
    await eventually(
      async () => {
        if (june.proc.exitCode !== null) throw new Error(`june start exited early:\n${june.output()}`);
        return june.output().includes('June is running.');
      },
      'june start to be up',
      60_000,
    );
    // a message whose task hangs in the LLM
    discord.sendDm(ada, 'are you there?');
    await eventually(
      async () => (await tasksOnDisk()).some((t) => t.state === 'active'),
      'the task to be running',
      60_000,
    );
    return june;
  };

  it('exits within the drain deadline while the Discord gateway is gone and a task hangs in the LLM', async () => {
    const june = await startWithDiscord(2000);
    await discord.close(); // the gateway goes away: discord.js reconnects, now logged
    await eventually(
      async () => june.output().includes('Discord gateway reconnecting'),
      'a logged gateway reconnect attempt',
      60_000,
    );
    june.proc.kill('SIGTERM');
    const code = await exitOf(june, 'one SIGTERM');
    expect(june.output()).toContain('"msg":"shutting down"');
    expect([0, 1]).toContain(code);
    // the hanging task was given back (or keeps a lease that expires): it is not lost
    const tasks = await tasksOnDisk();
    expect(tasks).toHaveLength(1);
    expect(['queued', 'active']).toContain(tasks[0]!.state);
  }, 180_000);

  it('exits at once on a second signal', async () => {
    const june = await startWithDiscord(600_000);
    june.proc.kill('SIGTERM');
    await eventually(async () => june.output().includes('"msg":"shutting down"'), 'the shutdown to begin');
    june.proc.kill('SIGTERM');
    expect(await exitOf(june, 'two SIGTERMs')).toBe(130);
    expect(june.output()).toContain('second signal');
    await discord.close();
  }, 180_000);

  it('exits within the drain deadline when a signal comes while a channel cannot start', async () => {
    dir = await makeTempDir('june-shutdown-');
    // a Telegram API that never answers: the start hangs in getMe
    const june = spawnJune({
      JUNE_TELEGRAM_TOKEN: '123456:abcdefghijklmnopqrstuvwxyz0123456789',
      JUNE_TELEGRAM_API_ROOT: hang.url,
      JUNE_DRAIN_TIMEOUT_MS: '2000',
    });
    const before = hang.accepted();
    await eventually(
      async () => {
        if (june.proc.exitCode !== null) throw new Error(`june start exited early:\n${june.output()}`);
        return hang.accepted() > before;
      },
      'the start to reach the Telegram API',
      60_000,
    );
    june.proc.kill('SIGTERM');
    const code = await exitOf(june, 'a SIGTERM during the start');
    expect(june.output()).toContain('"msg":"shutting down"');
    expect([0, 1]).toContain(code);
    expect(june.output()).not.toContain('June is running.');
  }, 180_000);
});
