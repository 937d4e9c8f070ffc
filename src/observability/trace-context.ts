/**
 * One user message, one trace. Spans of a message are made in several places (the channel that receives
 * it, the queue, a worker that may be another process, the voice pipeline, delivery), so the trace context
 * has to travel on its own:
 * - within a process, through an AsyncLocalStorage context manager, so a span started with no explicit
 *   parent (the pipeline's `voice.turn`, the agent's `agent.run`) is a child of the one that is active;
 * - between processes, in the task as a W3C `traceparent` (TaskSpec.traceparent), written when the task
 *   is enqueued and read back when a worker runs it.
 * Without a tracer provider every span is a no-op and nothing here records anything.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  trace,
  type Context,
  type ContextManager,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/** The active context follows async calls (promises, timers, event emitters bound by `bind`). */
class AsyncLocalContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    const run = <R>(f: () => R): R => this.with(ctx, f);
    return function (this: unknown, ...args: unknown[]) {
      return run(() => fn.apply(this, args));
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.storage.disable();
    return this;
  }
}

let installed = false;

/** Installs the context manager and the W3C propagator, once per process (tracing setup calls it). */
export function installTraceContext(): void {
  if (installed) return;
  installed = true;
  context.setGlobalContextManager(new AsyncLocalContextManager());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

interface Carrier {
  traceparent?: string;
  tracestate?: string;
}

/** The W3C `traceparent` of the active span (or of `ctx`); undefined when nothing is being traced. */
export function currentTraceparent(ctx: Context = context.active()): string | undefined {
  const spanContext = trace.getSpanContext(ctx);
  if (!spanContext || !isSpanContextValid(spanContext)) return undefined;
  const carrier: Carrier = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

/** The context a `traceparent` stands for (the root context when it is absent or malformed). */
export function contextFromTraceparent(traceparent: string | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent } satisfies Carrier);
}

/** `trace_id` and `span_id` of the active span, for log lines; empty when nothing is being traced. */
export function activeTraceIds(): { trace_id?: string; span_id?: string } {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

/**
 * The task spec with the traceparent of the active span when it has none of its own: a task enqueued
 * while a message is being handled (a child task, a parked update) joins the message's trace.
 */
export function withActiveTraceparent<T extends { traceparent?: string }>(spec: T): T {
  if (spec.traceparent !== undefined) return spec;
  const traceparent = currentTraceparent();
  return traceparent ? { ...spec, traceparent } : spec;
}
