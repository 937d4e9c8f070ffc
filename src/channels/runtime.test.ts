import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { startChannelRuntime } from './runtime.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-channel-runtime-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('channel runtime wiring', () => {
  it('returns its task handlers instead of filling a process-wide registry', async () => {
    const logger = createLogger('silent');
    const open = (name: string) =>
      startChannelRuntime({
        config: loadConfig({ env: { JUNE_DATA_DIR: path.join(dir, name) } }),
        logger,
        receive: false,
        adapters: [],
      });
    const a = await open('a');
    // a second runtime in the same process gets its own handlers (no "already registered")
    const b = await open('b');
    try {
      for (const runtime of [a, b]) {
        expect(runtime.handlers.kinds()).toEqual(expect.arrayContaining(['channel.voice', 'channel.text']));
        expect(runtime.handlers.capabilities()).toEqual(expect.arrayContaining(['voice', 'chat']));
      }
      expect(a.handlers).not.toBe(b.handlers);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
