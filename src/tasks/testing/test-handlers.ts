/**
 * Handlers for tests, crash scripts and the benchmark. 'record' is the idempotent one: it delivers its
 * "reply" (a line in a file) through ctx.once, so a re-run after a crash does not deliver it again.
 */
import fs from 'node:fs';
import { sleep } from '../../util/abort.js';
import { JuneError } from '../../util/errors.js';
import type { HandlerRegistry } from '../handlers.js';

export interface RecordPayload {
  /** Work time after delivering. */
  ms?: number;
  /** On attempt 1, hang after delivering (until killed or aborted). */
  hangFirst?: boolean;
}

export interface TestHandlerOptions {
  capability?: string;
  /** Where 'record' appends "<task id>\n". */
  recordFile?: string;
  /** 'flaky' fails while this returns true. */
  flakyFails?: () => boolean;
}

export function registerTestHandlers(registry: HandlerRegistry, options: TestHandlerOptions = {}): void {
  const cap = options.capability ?? 'chat';
  registry.register('echo', cap, async ({ task }) => task.payload);
  registry.register('noop', cap, async () => null);
  registry.register<{ ms: number }, string>('sleep', cap, async ({ task, signal }) => {
    await sleep(task.payload.ms, signal);
    return 'slept';
  });
  registry.register('fail', cap, async ({ attempt }) => {
    throw new Error(`always fails (attempt ${attempt})`);
  });
  registry.register('flaky', cap, async ({ attempt }) => {
    if (options.flakyFails?.() ?? true) throw new Error(`flaky failure (attempt ${attempt})`);
    return 'recovered';
  });
  registry.register('bad-input', cap, async () => {
    throw new JuneError('not a valid request', { code: 'bad_input', retryable: false });
  });
  registry.register<{ stages: string[] }, string>('stages', cap, async ({ task, reportProgress }) => {
    for (const stage of task.payload.stages) await reportProgress(stage, { at: stage });
    return 'staged';
  });
  registry.register<RecordPayload, { attempt: number; workerId: string }>('record', cap, async (ctx) => {
    const file = options.recordFile;
    if (!file) throw new Error('record handler needs a record file');
    await ctx.once('deliver', async () => {
      fs.appendFileSync(file, `${ctx.task.id}\n`);
      return true;
    });
    // tells crash tests the step is recorded: a kill between the side effect and its record would repeat
    // it on the re-run (the unavoidable at-least-once window of any external side effect)
    await ctx.reportProgress('delivered');
    if (ctx.task.payload?.hangFirst && ctx.attempt === 1) await sleep(3_600_000, ctx.signal);
    if (ctx.task.payload?.ms) await sleep(ctx.task.payload.ms, ctx.signal);
    return { attempt: ctx.attempt, workerId: ctx.workerId };
  });
}
