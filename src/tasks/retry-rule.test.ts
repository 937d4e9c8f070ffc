/**
 * The task layer's retry rule end to end: an unexpected error that a handler's code wrapped with
 * toJuneError (as the voice pipeline does) is retried, and bad input dies at once, on both backends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { AudioError, toJuneError } from '../util/errors.js';
import { HandlerRegistry } from './handlers.js';
import { startWorkers } from './runtime.js';
import { testBackends } from './testing/backends.js';
import { eventually } from './testing/eventually.js';

for (const backend of testBackends()) {
  describe(`retry rule on ${backend.name}`, () => {
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());

    it('retries a wrapped TypeError("fetch failed") until it succeeds, and ends bad audio at once', async () => {
      const queue = await backend.open({ maxAttempts: 3, leaseMs: 2000 });
      const registry = new HandlerRegistry();
      registry.register('net', 'chat', async ({ attempt }) => {
        if (attempt < 3) throw toJuneError(new TypeError('fetch failed'));
        return 'answered';
      });
      registry.register('bad-audio', 'chat', async () => {
        throw new AudioError('audio_not_audio', 'not audio', 'That file is not audio.');
      });
      const pool = await startWorkers({
        queue,
        registry,
        capabilities: ['chat'],
        concurrency: 2,
        leaseMs: 2000,
        logger: createLogger('silent'),
        metrics: false,
      });
      try {
        const net = await queue.enqueue({ kind: 'net', capability: 'chat' });
        const bad = await queue.enqueue({ kind: 'bad-audio', capability: 'chat' });
        const done = await eventually(async () => {
          const d = await queue.get(net);
          return d?.task.state === 'completed' || d?.task.state === 'dead' ? d : undefined;
        }, 'the network task to settle');
        expect(done.task).toMatchObject({ state: 'completed', result: 'answered', attempts: 3 });
        expect(done.attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'completed']);
        const dead = await eventually(async () => {
          const d = await queue.get(bad);
          return d?.task.state === 'dead' ? d : undefined;
        }, 'the bad audio task to die');
        expect(dead.task.attempts).toBe(1);
        expect(dead.task.error).toMatchObject({ code: 'audio_not_audio', retryable: false });
      } finally {
        await pool.stop();
        await queue.close();
      }
    });
  });
}
