/**
 * JUNE_TRACING=otlp: `june ask` sends its spans to a local OTLP/HTTP receiver, over http/protobuf and over
 * http/json, set up only by the standard OTEL_* variables; the turn is one trace with its stages as
 * children, and the resource carries the service name and attributes from the environment.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { startFakeOtlpReceiver, type FakeOtlpReceiver } from '../helpers/fake-otlp-receiver.js';
import { execJune } from '../helpers/june-cli.js';
import { makeTempDir } from '../helpers/speech-fixtures.js';

let dir: string;
let llm: FakeOpenAiServer;
let receiver: FakeOtlpReceiver;

const ask = (env: Record<string, string>) =>
  execJune(['ask', 'hello there', '--speak', 'out.ogg'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      JUNE_MODELS_DIR: path.join(dir, 'models'),
      JUNE_DATA_DIR: path.join(dir, 'data'),
      JUNE_LLM_BASE_URL: llm.url,
      JUNE_LLM_MODEL: 'june-test-model',
      JUNE_TRACING: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      ...env,
    },
  });

beforeAll(async () => {
  dir = await makeTempDir('june-otlp-');
  llm = await startFakeOpenAiServer();
  receiver = await startFakeOtlpReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await llm?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('JUNE_TRACING=otlp', { timeout: 180_000 }, () => {
  for (const [protocol, contentType, encoding] of [
    ['http/protobuf', 'application/x-protobuf', 'protobuf'],
    ['http/json', 'application/json', 'json'],
  ] as const) {
    it(`exports a turn as one trace over ${protocol}`, async () => {
      receiver.spans.length = 0;
      receiver.contentTypes.length = 0;
      const r = await ask({
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_SERVICE_NAME: `june-${encoding}`,
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=ci,service.namespace=voice',
      });
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/OTLP|export/i);
      expect(receiver.contentTypes.every((t) => t.startsWith(contentType))).toBe(true);
      const root = receiver.spans.find((s) => s.name === 'voice.turn');
      expect(root, receiver.spans.map((s) => s.name).join(', ')).toBeDefined();
      expect(root!.parentSpanId).toBe('');
      expect(root!.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(root!.attributes['june.status']).toBe('ok');
      const children = receiver.spans.filter((s) => s.parentSpanId === root!.spanId);
      expect(new Set(children.map((s) => s.name))).toEqual(
        new Set(['llm.chat_stream', 'tts.synthesize', 'audio.encode']),
      );
      expect(receiver.spans.every((s) => s.traceId === root!.traceId && s.encoding === encoding)).toBe(true);
      expect(root!.resource).toMatchObject({
        'service.name': `june-${encoding}`,
        'deployment.environment': 'ci',
        'service.namespace': 'voice',
        'telemetry.sdk.language': 'nodejs',
      });
    });
  }

  it('names the service june unless OTEL_SERVICE_NAME says otherwise', async () => {
    receiver.spans.length = 0;
    const r = await ask({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    expect(r.code).toBe(0);
    expect(receiver.spans.length).toBeGreaterThan(0);
    expect(receiver.spans.every((s) => s.resource['service.name'] === 'june')).toBe(true);
  });

  it('refuses gRPC and unknown protocols with a configuration error naming the variable', async () => {
    const grpc = await ask({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    expect(grpc.code).toBe(78);
    expect(grpc.stderr).toContain('OTEL_EXPORTER_OTLP_PROTOCOL');
    expect(grpc.stderr).toContain('grpc is not supported by June; use http/protobuf');
    const odd = await ask({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/xml' });
    expect(odd.code).toBe(78);
    expect(odd.stderr).toContain(
      'Invalid config OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/xml" is not an OTLP protocol',
    );
  });
});
