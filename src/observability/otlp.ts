/**
 * JUNE_TRACING=otlp: spans go to an OpenTelemetry collector (or Jaeger, Tempo…) over OTLP/HTTP, set up by
 * the standard variables, so June fits whatever the operator already runs:
 * - OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (default http://localhost:4318),
 *   OTEL_EXPORTER_OTLP_HEADERS, read by the exporter itself;
 * - OTEL_EXPORTER_OTLP_PROTOCOL / OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: http/protobuf (default) or http/json;
 * - OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (service.name defaults to "june").
 * The exporter packages are loaded only when asked for. Spans are batched; the batch is flushed when the
 * process has nothing left to do (beforeExit).
 */
import { trace } from '@opentelemetry/api';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ConfigError } from '../util/errors.js';
import { installTraceContext } from './trace-context.js';
import { onTracingShutdown } from './tracing.js';

export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** The OTLP protocol the environment asks for; grpc and unknown values are a configuration error. */
export function otlpProtocol(env: NodeJS.ProcessEnv = process.env): OtlpProtocol {
  const key = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = (env[key] || 'http/protobuf').trim();
  if (value === 'http/protobuf' || value === 'http/json') return value;
  throw new ConfigError(
    key,
    value === 'grpc'
      ? 'grpc is not supported by June; use http/protobuf (port 4318 of the collector) or http/json'
      : `"${value}" is not an OTLP protocol; use http/protobuf or http/json`,
  );
}

export interface OtlpTracing {
  protocol: OtlpProtocol;
  /** Sends the spans still in the batch; resolves when the collector answered. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Ends spans into the batch processor once the exporter module has loaded, keeping the ones that end
 * before (startup), so installing the provider needs no await and loses nothing.
 */
class DeferredProcessor implements SpanProcessor {
  private target: SpanProcessor | undefined;
  private readonly early: ReadableSpan[] = [];

  constructor(private readonly ready: Promise<SpanProcessor>) {
    ready.then(
      (target) => {
        this.target = target;
        for (const span of this.early.splice(0)) target.onEnd(span);
      },
      () => this.early.splice(0),
    );
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.target) this.target.onEnd(span);
    else this.early.push(span);
  }

  async forceFlush(): Promise<void> {
    await (await this.ready).forceFlush();
  }

  async shutdown(): Promise<void> {
    await (await this.ready).shutdown();
  }
}

/**
 * Installs the global tracer provider exporting over OTLP. Throws ConfigError at once for a bad protocol;
 * the exporter loads in the background (a failure to load it is passed to `onError`).
 */
export function setupOtlpTracing(
  env: NodeJS.ProcessEnv = process.env,
  onError: (err: unknown) => void = () => undefined,
): OtlpTracing {
  const protocol = otlpProtocol(env);
  const ready = (
    protocol === 'http/json'
      ? import('@opentelemetry/exporter-trace-otlp-http')
      : import('@opentelemetry/exporter-trace-otlp-proto')
  ).then(({ OTLPTraceExporter }) => new BatchSpanProcessor(new OTLPTraceExporter()));
  ready.catch(onError);
  // later merges win: the environment's service name and attributes over June's default name
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'june' }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new DeferredProcessor(ready)] });
  trace.setGlobalTracerProvider(provider);
  installTraceContext();
  let stopped = false;
  const shutdown = async () => {
    if (stopped) return;
    stopped = true;
    await provider.shutdown();
  };
  // a CLI command that returns: send what is left (a server that drained calls shutdownTracing itself)
  process.once('beforeExit', () => void shutdown().catch(onError));
  onTracingShutdown(shutdown);
  return { protocol, flush: () => provider.forceFlush(), shutdown };
}
