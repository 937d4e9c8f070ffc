/**
 * The shared pipeline's warm-up with a real pocketsphinx helper and espeak-ng, and an LLM server that
 * cannot be reached: every failed warm-up must close what it started, and state() never starts one.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChildren } from '../../test/helpers/child-processes.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../../test/helpers/fake-openai-server.js';
import { makeTempDir } from '../../test/helpers/speech-fixtures.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { pipelineHolder } from './pipeline-holder.js';

const HELPER = 'pocketsphinx-server';
let deadUrl: string;
let llm: FakeOpenAiServer;
let dir: string;

beforeAll(async () => {
  dir = await makeTempDir('june-holder-');
  llm = await startFakeOpenAiServer({ models: ['june-test-model'] });
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/v1`;
  await new Promise<void>((r) => probe.close(() => r()));
});
afterAll(() => llm.close());

const config = (llmBaseUrl: string) =>
  loadConfig({
    env: {},
    overrides: {
      dataDir: dir,
      stt: 'pocketsphinx',
      llm: 'openai',
      llmBaseUrl,
      llmModel: 'june-test-model',
      llmRetries: 0,
      tts: 'espeak-ng',
    },
  });

describe('pipelineHolder', () => {
  it('closes the speech recogniser of every failed warm-up', async () => {
    const holder = pipelineHolder(config(deadUrl), createLogger('silent'));
    expect(holder.state()).toEqual({ status: 'idle' });
    const before = countChildren(HELPER);
    for (let i = 0; i < 5; i++) {
      await expect(holder.get()).rejects.toMatchObject({ code: expect.stringMatching(/unavailable/) });
      expect(holder.state().status).toBe('failed');
    }
    await holder.close();
    expect(countChildren(HELPER)).toBe(before);
  });

  it('stops a helper that was already running when the LLM check failed', async () => {
    // an LLM server that answers /models (by dropping the connection) only once the helper runs, so
    // the warm-up has certainly started it before failing
    const before = countChildren(HELPER);
    const gate = http.createServer((req) => {
      const drop = () => req.socket.destroy();
      const poll = setInterval(() => {
        if (countChildren(HELPER) > before) {
          clearInterval(poll);
          drop();
        }
      }, 20);
    });
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/v1`;
    const holder = pipelineHolder(config(url), createLogger('silent'));
    try {
      for (let i = 0; i < 3; i++) {
        await expect(holder.get()).rejects.toBeInstanceOf(Error);
        expect(holder.state().status).toBe('failed');
        await expect.poll(() => countChildren(HELPER)).toBe(before);
      }
    } finally {
      await holder.close();
      gate.closeAllConnections();
      await new Promise<void>((r) => gate.close(() => r()));
    }
  });

  it('keeps warming up in the background until the LLM server answers', async () => {
    const flaky = await startFakeOpenAiServer({ models: ['june-test-model'] });
    let refusals = 2;
    flaky.route('/v1/models', (_req, res) => {
      if (refusals-- > 0) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'loading the model' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'june-test-model', object: 'model' }] }));
    });
    const holder = pipelineHolder(config(flaky.url), createLogger('silent'));
    const failures: unknown[] = [];
    try {
      holder.keepWarm((err) => failures.push(err));
      await expect.poll(() => holder.state().status, { timeout: 30_000 }).toBe('ready');
      expect(failures).toHaveLength(2);
      expect(flaky.requests.filter((r) => r.path === '/v1/models')).toHaveLength(3);
    } finally {
      await holder.close();
      await flaky.close();
    }
  });

  it('reports ready once warm, keeps one helper, and frees it on close', async () => {
    const holder = pipelineHolder(config(llm.url), createLogger('silent'));
    const before = countChildren(HELPER);
    const first = await holder.get();
    expect(holder.state()).toEqual({ status: 'ready' });
    expect(await holder.get()).toBe(first);
    expect(countChildren(HELPER)).toBe(before + 1);
    await holder.close();
    await expect.poll(() => countChildren(HELPER)).toBe(before);
  });
});
