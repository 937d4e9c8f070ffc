/**
 * A minimal ONNX writer, so tests can build small models with the exact input/output signatures and
 * metadata that sherpa-onnx expects, without Python or a model hub.
 *
 * It hand-encodes the few protobuf messages an ONNX file needs (ModelProto, GraphProto, NodeProto,
 * TensorProto, ValueInfoProto, AttributeProto, metadata_props). Field numbers are those of onnx.proto
 * (onnx/onnx, IR version 8).
 */

// ---------------------------------------------------------------- protobuf wire format

class ProtoWriter {
  private readonly chunks: Buffer[] = [];

  private varint(value: bigint | number): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v !== 0n);
    this.chunks.push(Buffer.from(bytes));
  }

  private key(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: bigint | number): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.chunks.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array | string): this {
    const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
    this.key(field, 2);
    this.varint(b.length);
    this.chunks.push(b);
    return this;
  }

  message(field: number, inner: ProtoWriter): this {
    return this.bytes(field, inner.finish());
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

// ---------------------------------------------------------------- ONNX

export const DataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** A dimension: a fixed size, or a symbolic name ("N", "T"). */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  type: DataTypeCode;
  shape: Dim[];
}

export type AttributeValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: Tensor };

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, AttributeValue>;
}

export interface Tensor {
  name: string;
  type: DataTypeCode;
  dims: number[];
  /** FLOAT: Float32Array; INT64: BigInt64Array; INT32: Int32Array. */
  data: Float32Array | BigInt64Array | Int32Array;
}

export interface OnnxModel {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: Node[];
  initializers?: Tensor[];
  /** Key/value pairs of the model's metadata_props, read by sherpa-onnx. */
  metadata?: Record<string, string | number>;
  /** Default-domain opset (default 17). */
  opset?: number;
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): Tensor {
  return { name, type: DataType.FLOAT, dims, data: Float32Array.from(values) };
}

export function int64Tensor(name: string, dims: number[], values: ArrayLike<number>): Tensor {
  return { name, type: DataType.INT64, dims, data: BigInt64Array.from(Array.from(values), BigInt) };
}

function tensorProto(t: Tensor): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.type);
  w.bytes(8, t.name);
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)); // raw_data, little endian
  return w;
}

function valueInfoProto(v: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.bytes(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, v.type).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().bytes(1, v.name).message(2, type);
}

function attributeProto(name: string, a: AttributeValue): ProtoWriter {
  const w = new ProtoWriter().bytes(1, name);
  switch (a.kind) {
    case 'float':
      return w.float(2, a.value).int(20, 1);
    case 'int':
      return w.int(3, a.value).int(20, 2);
    case 'string':
      return w.bytes(4, a.value).int(20, 3);
    case 'tensor':
      return w.message(5, tensorProto(a.value)).int(20, 4);
    case 'ints':
      for (const v of a.value) w.int(8, v);
      return w.int(20, 7);
  }
}

function nodeProto(n: Node, index: number): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.bytes(1, i);
  for (const o of n.outputs) w.bytes(2, o);
  w.bytes(3, `${n.op}_${index}`);
  w.bytes(4, n.op);
  for (const [name, value] of Object.entries(n.attributes ?? {})) w.message(5, attributeProto(name, value));
  return w;
}

/** Serialises a model to the bytes of an .onnx file. */
export function encodeOnnxModel(model: OnnxModel): Buffer {
  const graph = new ProtoWriter();
  model.nodes.forEach((n, i) => graph.message(1, nodeProto(n, i)));
  graph.bytes(2, 'june_test_graph');
  for (const t of model.initializers ?? []) graph.message(5, tensorProto(t));
  for (const v of model.inputs) graph.message(11, valueInfoProto(v));
  for (const v of model.outputs) graph.message(12, valueInfoProto(v));

  const w = new ProtoWriter();
  w.int(1, 8); // ir_version
  w.bytes(2, 'june-tests');
  w.message(7, graph);
  w.message(8, new ProtoWriter().bytes(1, '').int(2, model.opset ?? 17));
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    w.message(14, new ProtoWriter().bytes(1, key).bytes(2, String(value)));
  }
  return w.finish();
}
