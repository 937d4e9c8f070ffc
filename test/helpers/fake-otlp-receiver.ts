/**
 * A local OTLP/HTTP trace receiver, as a collector would answer: POST /v1/traces with an
 * ExportTraceServiceRequest, either protobuf (application/x-protobuf, decoded here from the wire format)
 * or JSON (application/json, OTLP's JSON mapping with hex ids). It answers 200 with an empty
 * ExportTraceServiceResponse in the same encoding and keeps every span it received.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
  /** The resource attributes of the batch the span came in. */
  resource: Record<string, unknown>;
  /** How it arrived. */
  encoding: 'protobuf' | 'json';
}

export interface FakeOtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  contentTypes: string[];
  close(): Promise<void>;
}

// ---- protobuf wire format: just enough to read the OTLP trace messages

type Field = { no: number; wire: number; value: bigint | Buffer };

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      if (b === undefined) throw new Error('truncated protobuf varint');
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const no = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 1) {
      out.push({ no, wire, value: buf.readBigUInt64LE(i) });
      i += 8;
    } else if (wire === 5) {
      out.push({ no, wire, value: BigInt(buf.readUInt32LE(i)) });
      i += 4;
    } else if (wire === 2) {
      const len = Number(varint());
      out.push({ no, wire, value: buf.subarray(i, i + len) });
      i += len;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

const bytes = (fs: Field[], no: number) => fs.filter((f) => f.no === no).map((f) => f.value as Buffer);
const str = (fs: Field[], no: number) => bytes(fs, no)[0]?.toString('utf8') ?? '';
const hex = (fs: Field[], no: number) => bytes(fs, no)[0]?.toString('hex') ?? '';

/** AnyValue: 1 string, 2 bool, 3 int, 4 double. */
function anyValue(buf: Buffer): unknown {
  const f = fields(buf)[0];
  if (!f) return undefined;
  if (f.no === 1) return (f.value as Buffer).toString('utf8');
  if (f.no === 2) return f.value === 1n;
  if (f.no === 3) return Number(BigInt.asIntN(64, f.value as bigint));
  if (f.no === 4)
    return Buffer.from(
      BigInt.asUintN(64, f.value as bigint)
        .toString(16)
        .padStart(16, '0'),
      'hex',
    ).readDoubleBE();
  return `<field ${f.no}>`;
}

/** repeated KeyValue (1 key, 2 value). */
function keyValues(list: Buffer[]): Record<string, unknown> {
  return Object.fromEntries(
    list.map((kv) => {
      const f = fields(kv);
      return [str(f, 1), anyValue(bytes(f, 2)[0] ?? Buffer.alloc(0))];
    }),
  );
}

export function decodeTraceRequest(body: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of bytes(fields(body), 1)) {
    const rsf = fields(rs);
    const resource = keyValues(bytes(fields(bytes(rsf, 1)[0] ?? Buffer.alloc(0)), 1));
    for (const ss of bytes(rsf, 2))
      for (const span of bytes(fields(ss), 2)) {
        const s = fields(span);
        spans.push({
          traceId: hex(s, 1),
          spanId: hex(s, 2),
          parentSpanId: hex(s, 4),
          name: str(s, 5),
          attributes: keyValues(bytes(s, 9)),
          resource,
          encoding: 'protobuf',
        });
      }
  }
  return spans;
}

interface JsonKeyValue {
  key: string;
  value: Record<string, unknown>;
}
const jsonAttributes = (list: JsonKeyValue[] = []) =>
  Object.fromEntries(
    list.map(({ key, value }) => {
      const [kind, v] = Object.entries(value)[0] ?? [];
      return [key, kind === 'intValue' ? Number(v) : v];
    }),
  );

export function decodeJsonTraceRequest(body: string): ReceivedSpan[] {
  const req = JSON.parse(body) as {
    resourceSpans?: Array<{
      resource?: { attributes?: JsonKeyValue[] };
      scopeSpans?: Array<{
        spans?: Array<{
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          attributes?: JsonKeyValue[];
        }>;
      }>;
    }>;
  };
  return (req.resourceSpans ?? []).flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        name: s.name,
        attributes: jsonAttributes(s.attributes),
        resource: jsonAttributes(rs.resource?.attributes),
        encoding: 'json' as const,
      })),
    ),
  );
}

export async function startFakeOtlpReceiver(): Promise<FakeOtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const type = String(req.headers['content-type'] ?? '');
      contentTypes.push(type);
      if (req.method !== 'POST' || req.url !== '/v1/traces') return res.writeHead(404).end();
      try {
        const body = Buffer.concat(chunks);
        if (type.startsWith('application/x-protobuf')) {
          spans.push(...decodeTraceRequest(body));
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        } else if (type.startsWith('application/json')) {
          spans.push(...decodeJsonTraceRequest(body.toString('utf8')));
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } else res.writeHead(415).end();
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    contentTypes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
