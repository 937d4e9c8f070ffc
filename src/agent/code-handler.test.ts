/**
 * The `code` capability through the real task backbone: an `agent.code` task enqueued on the SQLite
 * queue, claimed by a worker that advertises `code` (bubblewrap works here), run against the scripted
 * OpenAI-compatible server; each step is a progress event and the result is the `june code --json` object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCalls } from '../../test/helpers/fake-agent-scripts.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../../test/helpers/fake-openai-server.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { OpenAiLanguageModel } from '../providers/llm/openai.js';
import { checkBubblewrap } from '../sandbox/factory.js';
import { HandlerRegistry } from '../tasks/handlers.js';
import { startWorkers } from '../tasks/runtime.js';
import { eventually } from '../tasks/testing/eventually.js';
import { openSqliteQueue } from '../tasks/sqlite/sqlite-queue.js';
import { CODE_CAPABILITY, CODE_TASK_KIND, createCodeHandler } from './code-handler.js';

const bwrap = await checkBubblewrap();

describe.skipIf(!bwrap.ok)('code capability on the task backbone', () => {
  let server: FakeOpenAiServer;
  let dir: string;
  beforeAll(async () => {
    server = await startFakeOpenAiServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-code-task-'));
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('advertises code where the sandbox works and runs a coding task with progress per step', async () => {
    const config = loadConfig({
      env: {},
      file: undefined,
      overrides: { dataDir: dir, workerCapabilities: ['code'], sandbox: 'bubblewrap' },
    });
    const logger = createLogger('silent');
    const registry = new HandlerRegistry();
    const model = new OpenAiLanguageModel({ baseUrl: server.url, model: 'm', retries: 0 });
    const handler = await createCodeHandler({ config, logger, model: async () => model });
    expect(handler).toBeDefined();
    registry.register(CODE_TASK_KIND, CODE_CAPABILITY, handler!);
    expect(registry.capabilities()).toEqual([CODE_CAPABILITY]);

    const queue = await openSqliteQueue({ file: path.join(dir, 'tasks.db'), pollMs: 20 });
    const pool = await startWorkers({ config, queue, logger, registry, capabilities: ['code'] });
    try {
      expect(pool.capabilities).toEqual(['code']);
      server.enqueue(
        nativeCalls([{ name: 'write_file', args: { path: 'hi.sh', content: 'echo hi\n' } }]),
        nativeCalls([{ name: 'execute_command', args: { command: 'sh hi.sh' } }]),
        nativeCalls([{ name: 'finish', args: { summary: 'Wrote and ran hi.sh.' } }]),
      );
      const id = await queue.enqueue({
        kind: CODE_TASK_KIND,
        capability: CODE_CAPABILITY,
        payload: { task: 'hi' },
      });
      const done = await eventually(async () => {
        const d = await queue.get(id);
        return d?.task.state === 'completed' || d?.task.state === 'dead' ? d : undefined;
      }, 'the code task to end');
      expect(done.task.state).toBe('completed');
      expect(done.task.result).toMatchObject({
        status: 'completed',
        answer: 'Wrote and ran hi.sh.',
        steps: 3,
      });
      expect((done.task.result as { diff: string }).diff).toContain('+echo hi');
      const stages = done.timeline.filter((e) => e.type === 'progress').map((e) => e.stage);
      expect(stages).toContain('step 2: running: sh hi.sh');
    } finally {
      await pool.stop();
      await queue.close();
    }
  });

  it('does not register where no sandbox works', async () => {
    const config = loadConfig({
      env: { PATH: process.env.PATH, DOCKER_HOST: 'unix:///nonexistent.sock' },
      file: undefined,
      overrides: { dataDir: dir, sandbox: 'docker' },
    });
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'unix:///nonexistent.sock';
    try {
      expect(await createCodeHandler({ config, logger: createLogger('silent') })).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });
});
