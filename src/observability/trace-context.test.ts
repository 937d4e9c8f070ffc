/**
 * The trace context on its path through one process: the active span is the parent of spans started
 * without one, its traceparent goes into a task spec and back into a context, and log lines carry its ids.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { contextFromTraceparent, currentTraceparent, withActiveTraceparent } from './trace-context.js';
import { setupTracing, shutdownTracing, startSpan, withSpan } from './tracing.js';

interface Spec {
  kind: string;
  traceparent?: string;
}
const spec = (more: Partial<Spec> = {}): Spec => ({ kind: 'echo', ...more });

const exporter = new InMemorySpanExporter();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-trace-context-'));

beforeAll(() => void setupTracing(exporter));
afterAll(async () => {
  await shutdownTracing();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('trace context', () => {
  it('carries the active span through awaits, into a traceparent and back', async () => {
    expect(currentTraceparent()).toBeUndefined();
    expect(withActiveTraceparent(spec())).toEqual({ kind: 'echo' });
    let carried: string | undefined;
    await withSpan('outer', {}, async (outer) => {
      await new Promise((r) => setTimeout(r, 1));
      startSpan('inner').end(); // no explicit parent: the active span is
      carried = withActiveTraceparent(spec()).traceparent;
      const { traceId, spanId } = outer.spanContext();
      expect(carried).toBe(`00-${traceId}-${spanId}-01`);
      expect(withActiveTraceparent(spec({ traceparent: 'kept' })).traceparent).toBe('kept');
    });
    // another process reads it back: its span joins the same trace
    await withSpan('remote', {}, async () => undefined, contextFromTraceparent(carried));
    const spans = exporter.getFinishedSpans();
    const outer = spans.find((s) => s.name === 'outer')!;
    const inner = spans.find((s) => s.name === 'inner')!;
    const remote = spans.find((s) => s.name === 'remote')!;
    expect(inner.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(remote.spanContext().traceId).toBe(outer.spanContext().traceId);
    expect(remote.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(outer.parentSpanContext).toBeUndefined();
    // nothing or garbage: a new root
    await withSpan('fresh', {}, async () => undefined, contextFromTraceparent('garbage'));
    const fresh = exporter.getFinishedSpans().find((s) => s.name === 'fresh')!;
    expect(fresh.parentSpanContext).toBeUndefined();
    expect(fresh.spanContext().traceId).not.toBe(outer.spanContext().traceId);
  });

  it('puts trace_id and span_id on log lines written while a span is active, and only then', async () => {
    const file = path.join(dir, 'log.jsonl');
    const logger = createLogger('info', file);
    logger.info('before');
    const ids = await withSpan('logged', {}, async (span) => {
      logger.child({ part: 'child' }).info('inside');
      return span.spanContext();
    });
    const lines = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[1]).toMatchObject({ msg: 'inside', trace_id: ids.traceId, span_id: ids.spanId });
  });
});
