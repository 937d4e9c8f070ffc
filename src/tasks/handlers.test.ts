import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { HandlerRegistry } from './handlers.js';
import { startWorkers } from './runtime.js';
import { openSqliteQueue } from './sqlite/sqlite-queue.js';
import { eventually } from './testing/eventually.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-handlers-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('handler registry', () => {
  it('registers handlers by kind and refuses a second handler for the same kind', () => {
    const registry = new HandlerRegistry();
    registry.register('test.registry-kind', 'chat', async () => 'ok');
    expect(registry.get('test.registry-kind')?.capability).toBe('chat');
    expect(() => registry.register('test.registry-kind', 'voice', async () => 'again')).toThrow(
      /already registered/,
    );
    expect(() => registry.register('test.other', 'Not A Capability', async () => 1)).toThrow(
      /invalid capability/,
    );
    expect(registry.capabilities()).toEqual(['chat']);
    expect(registry.unregister('test.registry-kind')).toBe(true);
  });

  it('serves only capabilities that have handlers, and refuses to start with none', async () => {
    const queue = await openSqliteQueue({ file: path.join(dir, 'caps.db') });
    const registry = new HandlerRegistry();
    const logger = createLogger('silent');
    await expect(
      startWorkers({ queue, registry, capabilities: ['voice'], logger, metrics: false }),
    ).rejects.toThrow(/no task handlers/);
    registry.register('echo', 'chat', async ({ task }) => task.payload);
    const pool = await startWorkers({
      queue,
      registry,
      capabilities: ['voice', 'chat'],
      logger,
      metrics: false,
    });
    expect(pool.capabilities).toEqual(['chat']);
    const voice = await queue.enqueue({ kind: 'turn', capability: 'voice' });
    const chat = await queue.enqueue({ kind: 'echo', capability: 'chat', payload: 'hi' });
    await eventually(async () => (await queue.get(chat))?.task.state === 'completed', 'the chat task');
    expect((await queue.get(voice))?.task.state).toBe('queued'); // left for a worker that can run it
    await pool.stop();
    await queue.close();
  });
});
