import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import type { JuneConfig } from '../config/schema.js';
import { CancelledError, ModelError } from '../util/errors.js';
import type { DownloadProgress } from './download.js';
import {
  createModelManager,
  isModelCached,
  listModels,
  modelPath,
  pullModel,
  resolveModel,
  type ModelManager,
} from './manager.js';
import { DEFAULT_LLM_MODEL_ID, type ModelEntry } from './registry.js';
import { randomFile, startFileServer, type FileServer } from './testing/file-server.js';

const logger = pino(
  { level: 'debug' },
  new Writable({
    write: (_chunk, _enc, done) => done(),
  }),
);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

async function expectModelError(promise: Promise<unknown>, code: string): Promise<ModelError> {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(ModelError);
  expect((err as ModelError).code).toBe(code);
  return err as ModelError;
}

function sleepingChild(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
}

let tmp: string;
let server: FileServer;
let config: JuneConfig;
let data: Buffer;
let entry: ModelEntry;
let manager: ModelManager;

beforeEach(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'june-models-'));
  server = await startFileServer();
  config = loadConfig({
    env: { JUNE_MODELS_DIR: path.join(tmp, 'models'), JUNE_MODEL_BASE_URL: server.url },
  });
  data = randomFile(120_000);
  entry = {
    id: 'test-model',
    kind: 'gguf',
    file: 'test-model.gguf',
    url: '/mirror/test-model.gguf',
    sha256: createHash('sha256').update(data).digest('hex'),
    sizeBytes: data.length,
    description: 'random bytes served by the local test server',
    license: 'MIT',
  };
  server.add(entry.url, data);
  manager = createModelManager([entry]);
});

afterEach(async () => {
  await server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('model manager', () => {
  it('downloads a model on first use with progress, then serves it from the cache without a request', async () => {
    expect(manager.isModelCached(config, 'test-model')).toBe(false);
    const events: DownloadProgress[] = [];

    const file = await manager.resolveModel(config, 'test-model', {
      onProgress: (p) => events.push(p),
      logger,
    });

    expect(file).toBe(path.join(config.modelsDir, 'test-model.gguf'));
    expect(fs.readFileSync(file).equals(data)).toBe(true);
    expect(events.at(-1)).toMatchObject({ received: data.length, total: data.length });
    expect(fs.readdirSync(config.modelsDir)).toEqual(['test-model.gguf']); // no .part, no .lock left
    expect(manager.isModelCached(config, 'test-model')).toBe(true);
    expect(manager.listModels(config)).toEqual([
      expect.objectContaining({
        id: 'test-model',
        kind: 'gguf',
        cached: true,
        path: file,
        sizeBytes: data.length,
      }),
    ]);

    expect(await manager.resolveModel(config, 'test-model', { logger })).toBe(file);
    expect(await manager.resolveModel(config, 'test-model.gguf', { logger })).toBe(file); // by file name
    expect(server.requests).toHaveLength(1);
  });

  it('returns a cached built-in model without any request', async () => {
    const cached = modelPath(config, 'base.en');
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.writeFileSync(cached, randomFile(1000));

    expect(isModelCached(config, 'base.en')).toBe(true);
    expect(await resolveModel(config, 'base.en', { logger })).toBe(cached);
    expect(await resolveModel(config, 'ggml-base.en.bin', { logger })).toBe(cached);
    expect(listModels(config).find((m) => m.id === 'base.en')?.cached).toBe(true);
    expect(listModels(config).find((m) => m.id === 'tiny.en')?.cached).toBe(false);
    expect(server.requests).toEqual([]);
  });

  it('returns an existing path as is, and names a missing path or unknown id', async () => {
    const own = path.join(tmp, 'my-model.gguf');
    fs.writeFileSync(own, 'weights');
    expect(await resolveModel(config, own, { logger })).toBe(own);

    const missing = await expectModelError(
      resolveModel(config, path.join(tmp, 'nope.gguf')),
      'model_not_found',
    );
    expect(missing.message).toContain('nope.gguf');
    const unknown = await expectModelError(resolveModel(config, 'gpt-17'), 'model_not_found');
    expect(unknown.message).toContain('gpt-17');
    expect(unknown.message).toContain('base.en');
    expect(() => modelPath(config, 'gpt-17')).toThrow(ModelError);
    await expectModelError(pullModel(config, 'gpt-17'), 'model_not_found');
    expect(server.requests).toEqual([]);
  });

  it('with config.offline, fails with model_offline and explains how to install the model by hand', async () => {
    const offline = loadConfig({
      env: { JUNE_MODELS_DIR: config.modelsDir, JUNE_MODEL_BASE_URL: server.url, JUNE_OFFLINE: 'true' },
    });
    const err = await expectModelError(
      resolveModel(offline, DEFAULT_LLM_MODEL_ID, { logger }),
      'model_offline',
    );

    expect(err.message).toContain(DEFAULT_LLM_MODEL_ID);
    expect(err.message).toContain('JUNE_OFFLINE');
    expect(err.message).toContain(`${server.url}/Qwen/Qwen3-0.6B-GGUF/resolve/main/Qwen3-0.6B-Q8_0.gguf`);
    expect(err.message).toContain(`place the file at ${modelPath(offline, DEFAULT_LLM_MODEL_ID)}`);
    expect(err.message).toContain('JUNE_LLM_MODEL_PATH');
    expect(server.requests).toEqual([]);
  });

  it('fails with model_offline naming JUNE_STT_MODEL when the model host cannot be resolved', async () => {
    const unreachable = loadConfig({
      env: { JUNE_MODELS_DIR: config.modelsDir, JUNE_MODEL_BASE_URL: 'http://june-offline.invalid' },
    });
    const err = await expectModelError(resolveModel(unreachable, 'base.en', { logger }), 'model_offline');
    expect(err.message).toContain('june-offline.invalid');
    expect(err.message).toContain(modelPath(unreachable, 'base.en'));
    expect(err.message).toContain('JUNE_STT_MODEL');
    expect(fs.existsSync(modelPath(unreachable, 'base.en') + '.lock')).toBe(false);
  });

  it('downloads built-in models from config.modelBaseUrl and refuses a file of the wrong size', async () => {
    server.add('/ggerganov/whisper.cpp/resolve/main/ggml-tiny.en.bin', randomFile(5000));
    const err = await expectModelError(pullModel(config, 'tiny.en', { logger }), 'model_checksum');
    expect(err.message).toContain('77704715');
    expect(server.requests.map((r) => r.path)).toEqual([
      '/ggerganov/whisper.cpp/resolve/main/ggml-tiny.en.bin',
    ]);
    expect(isModelCached(config, 'tiny.en')).toBe(false);
  });

  it('shares one download between concurrent callers, each getting progress', async () => {
    server.behaviour.throttleBytesPerSec = 600_000; // ~0.2 s, so the callers really overlap
    const progress = [[], [], []] as DownloadProgress[][];
    const files = await Promise.all(
      progress.map((events) =>
        manager.resolveModel(config, 'test-model', { onProgress: (p) => events.push(p), logger }),
      ),
    );

    expect(new Set(files).size).toBe(1);
    expect(server.requests).toHaveLength(1);
    for (const events of progress) expect(events.at(-1)?.received).toBe(data.length);
    expect(fs.readFileSync(files[0]!).equals(data)).toBe(true);
  });

  it('lets one caller cancel its wait without cancelling the download for the others', async () => {
    server.behaviour.throttleBytesPerSec = 600_000;
    const controller = new AbortController();
    const impatient = manager.resolveModel(config, 'test-model', { signal: controller.signal, logger });
    const patient = manager.resolveModel(config, 'test-model', { onProgress: () => {}, logger });
    setTimeout(() => controller.abort(), 30);

    expect(await rejection(impatient)).toBeInstanceOf(CancelledError);
    expect(fs.readFileSync(await patient).equals(data)).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('cancels the download when its only caller cancels, keeping the part for later', async () => {
    server.behaviour.throttleBytesPerSec = 300_000;
    const controller = new AbortController();
    const promise = manager.pullModel(config, 'test-model', {
      signal: controller.signal,
      logger,
      onProgress: (p) => p.received > 20_000 && controller.abort(),
    });
    expect(await rejection(promise)).toBeInstanceOf(CancelledError);
    const part = path.join(config.modelsDir, 'test-model.gguf.part');
    const kept = fs.statSync(part).size;
    expect(kept).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(config.modelsDir, 'test-model.gguf.lock'))).toBe(false);

    server.behaviour.throttleBytesPerSec = undefined;
    const file = await manager.pullModel(config, 'test-model', { logger, onProgress: () => {} });
    expect(server.requests.map((r) => r.range)).toEqual([undefined, `bytes=${kept}-`]);
    expect(fs.readFileSync(file).equals(data)).toBe(true);
  });

  it('starts a fresh download for a caller arriving while a cancelled one is still stopping', async () => {
    server.behaviour.throttleBytesPerSec = 300_000;
    const controller = new AbortController();
    let second: Promise<string> | undefined;
    const first = manager.resolveModel(config, 'test-model', {
      signal: controller.signal,
      logger,
      onProgress: (p) => {
        if (p.received < 20_000 || second) return;
        controller.abort();
        server.behaviour.throttleBytesPerSec = undefined;
        second = manager.resolveModel(config, 'test-model', { logger, onProgress: () => {} });
      },
    });

    expect(await rejection(first)).toBeInstanceOf(CancelledError);
    expect(second).toBeDefined();
    expect(fs.readFileSync(await second!).equals(data)).toBe(true);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.range).toMatch(/^bytes=[1-9]\d*-$/); // it resumed the cancelled job's part
  });

  it('waits for another process that holds the lock and uses the file it produced', async () => {
    const other = sleepingChild();
    try {
      const dest = manager.modelPath(config, 'test-model');
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      const lock = {
        pid: other.pid,
        hostname: os.hostname(),
        token: 'other',
        createdAt: new Date().toISOString(),
      };
      fs.writeFileSync(dest + '.lock', JSON.stringify(lock));

      const waiting = manager.resolveModel(config, 'test-model', { logger, onProgress: () => {} });
      await new Promise((r) => setTimeout(r, 300));
      expect(fs.existsSync(dest)).toBe(false); // still waiting, not downloading
      fs.writeFileSync(dest, data); // the other process finishes …
      fs.rmSync(dest + '.lock'); // … and releases its lock

      expect(await waiting).toBe(dest);
      expect(server.requests).toEqual([]);
    } finally {
      other.kill();
    }
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((r) => gone.once('exit', r));
    const dest = manager.modelPath(config, 'test-model');
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const lock = {
      pid: gone.pid,
      hostname: os.hostname(),
      token: 'gone',
      createdAt: new Date().toISOString(),
    };
    fs.writeFileSync(dest + '.lock', JSON.stringify(lock));

    expect(await manager.resolveModel(config, 'test-model', { logger, onProgress: () => {} })).toBe(dest);
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
    expect(fs.existsSync(dest + '.lock')).toBe(false);
  });
});
