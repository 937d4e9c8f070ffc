/**
 * The web API as `june start` serves it, in real processes: it refuses an open API on 0.0.0.0, and with
 * `--no-workers` a standalone `june worker` sharing the data directory answers web voice messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { juneArgv } from '../helpers/june-cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { makeTempDir, spokenVoiceNote } from '../helpers/speech-fixtures.js';
import { waitForTask } from './web-harness.js';

const ADMIN = { authorization: 'Bearer cli-admin-token' };
let dir: string;
let llm: FakeOpenAiServer;
const children: ChildProcess[] = [];

function june(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, juneArgv(args), {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      JUNE_DATA_DIR: path.join(dir, 'data'),
      JUNE_MODELS_DIR: path.join(dir, 'models'),
      JUNE_LLM_BASE_URL: llm.url,
      JUNE_LLM_MODEL: 'june-test-model',
      JUNE_STT: 'pocketsphinx',
      JUNE_LOG_LEVEL: 'warn',
      ...env,
    },
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))),
  );
  /** Resolves with the first stderr match, or rejects when the process ends first. */
  const waitFor = (re: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${re} in: ${stderr}`)), timeoutMs);
      const check = () => {
        const m = re.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      };
      child.stderr!.on('data', check);
      void exited.then(() => {
        check();
        clearTimeout(timer);
        reject(new Error(`exited before ${re}: ${stderr}`));
      });
      check();
    });
  return { child, exited, waitFor, stderr: () => stderr };
}

beforeAll(async () => {
  dir = await makeTempDir('june-web-cli-');
  llm = await startFakeOpenAiServer();
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await llm?.close();
});

describe('june start with the web API', () => {
  it('refuses to listen on 0.0.0.0 without a token, naming JUNE_API_TOKENS', async () => {
    const run = june(['start', '--host', '0.0.0.0', '--port', '0']);
    expect(await run.exited).not.toBe(0);
    expect(run.stderr()).toMatch(/JUNE_API_TOKENS/);
    expect(run.stderr()).not.toMatch(/\n\s+at /); // a clear message, not a stack trace
  });

  it(
    'serves the API while a standalone worker sharing the data directory answers',
    { timeout: 90_000 },
    async () => {
      const env = { JUNE_API_TOKENS: 'admin:cli-admin-token' };
      const server = june(['start', '--no-workers', '--port', '0'], env);
      const url = (await server.waitFor(/Open (http:\/\/\S+?)\/?\s/))[1]!;
      const worker = june(['worker', '--capabilities', 'voice,chat'], env);

      const form = new FormData();
      form.set(
        'audio',
        new Blob([new Uint8Array(await spokenVoiceNote(dir, 'what is the weather like in paris today'))]),
        'q.ogg',
      );
      const res = await fetch(`${url}/v1/messages`, { method: 'POST', headers: ADMIN, body: form });
      expect(res.status).toBe(202);
      const { taskId } = (await res.json()) as { taskId: string };
      const task = await waitForTask(url, taskId, ADMIN, 40_000).catch((err: unknown) => {
        throw new Error(`${String(err)}\nserver: ${server.stderr()}\nworker: ${worker.stderr()}`);
      });
      expect(task.state).toBe('completed');
      expect((task.result as { transcript: string }).transcript).toMatch(/^what is the weather like/);
      // run by the standalone worker, whose reply audio the server then serves from the shared directory
      const workers = (await (await fetch(`${url}/v1/admin/workers`, { headers: ADMIN })).json()) as {
        workers: Array<{ id: string; pid: number }>;
      };
      expect(workers.workers.map((w) => w.pid)).toEqual([worker.child.pid]);
      expect(task.workerId).toBe(workers.workers[0]!.id);
      const audio = await fetch(`${url}/v1/audio/${taskId}`, { headers: ADMIN });
      expect(audio.headers.get('content-type')).toBe('audio/ogg');

      // both drain and exit on SIGTERM (the worker frees its models and stores after draining)
      server.child.kill('SIGTERM');
      worker.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(await worker.exited).toBe(0);
    },
  );
});
