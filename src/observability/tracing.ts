/**
 * OpenTelemetry tracing. June creates spans through @opentelemetry/api; the SDK provider is installed by
 * `setupTracing` (console exporter, or an in-memory exporter for tests). Without it the API is a no-op and
 * costs nothing. A parent span can be passed explicitly; without one, the active span is the parent
 * (trace-context.ts installs the async context manager that keeps it along a message's path).
 */
import {
  context,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import {
  BasicTracerProvider,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { toJuneError } from '../util/errors.js';
import { installTraceContext } from './trace-context.js';

export const TRACER_NAME = 'june';

let provider: BasicTracerProvider | undefined;
/** Ends the installed provider, sending the spans it still holds (set by whichever setup ran). */
let stopTracing: (() => Promise<void>) | undefined;

/** Records how to end the installed tracing; `shutdownTracing` runs it. */
export function onTracingShutdown(stop: () => Promise<void>): void {
  stopTracing = stop;
}

/**
 * Sends the spans still batched and stops exporting. A server calls it as the last step of its shutdown:
 * it ends with process.exit, so `beforeExit` never comes and the last message's spans would be lost.
 */
export async function shutdownTracing(): Promise<void> {
  const stop = stopTracing;
  stopTracing = undefined;
  await stop?.();
}

/** Installs a global tracer provider exporting to `exporter` (or the console). Returns it for shutdown. */
export function setupTracing(exporter: SpanExporter | 'console'): BasicTracerProvider {
  const exp = exporter === 'console' ? new ConsoleSpanExporter() : exporter;
  provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exp)] });
  trace.setGlobalTracerProvider(provider);
  installTraceContext();
  const installed = provider;
  onTracingShutdown(() => installed.shutdown());
  return provider;
}

export function getTracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** Starts a child span of `parent` (or a root span). */
export function startSpan(name: string, parent?: Span, attributes?: Attributes): Span {
  const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
  return getTracer().startSpan(name, { attributes }, ctx);
}

/** Runs `fn` inside a child span; records errors and always ends the span. */
export async function inSpan<T>(
  name: string,
  parent: Span | undefined,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return runInSpan(startSpan(name, parent, attributes), fn);
}

/** Runs `fn` with `span`: OK on success, the error recorded on failure, and the span always ended. */
async function runInSpan<T>(span: Span, fn: (span: Span) => Promise<T>): Promise<T> {
  try {
    const result = await fn(span);
    span.setStatus({ code: SpanStatusCode.OK });
    return result;
  } catch (err) {
    recordSpanError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Runs `fn` inside a new span that is the active one while it runs, so spans started inside (with no
 * explicit parent) are its children. Its parent is the active span, or `parent` (a context read from a
 * task's traceparent). Records errors and always ends the span.
 */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  const span = getTracer().startSpan(name, { attributes }, parent);
  return context.with(trace.setSpan(parent, span), () => runInSpan(span, fn));
}

export function recordSpanError(span: Span, err: unknown): void {
  const e = toJuneError(err);
  span.recordException(err instanceof Error ? err : new Error(String(err)));
  span.setAttribute('error.type', e.code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}
