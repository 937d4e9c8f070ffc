/**
 * A minimal GGUF v3 writer (the file format of llama.cpp models): metadata key/values, then tensor infos,
 * then the tensor data, each tensor aligned. Only the value and tensor types the test models need (f32).
 *
 * Layout, all little-endian: "GGUF", u32 version, u64 tensor count, u64 metadata count, the metadata
 * (string key, u32 value type, value), the tensor infos (string name, u32 dims, u64 per dim, u32 ggml type,
 * u64 offset into the data section), padding to the alignment, the data section.
 */

/** GGUF metadata value type ids. */
const UINT32 = 4;
const INT32 = 5;
const FLOAT32 = 6;
const BOOL = 7;
const STRING = 8;
const ARRAY = 9;

export type GgufValue =
  | { type: typeof UINT32; value: number }
  | { type: typeof FLOAT32; value: number }
  | { type: typeof BOOL; value: boolean }
  | { type: typeof STRING; value: string }
  | { type: typeof ARRAY; of: typeof STRING; value: string[] }
  | { type: typeof ARRAY; of: typeof INT32; value: number[] };

export const gguf = {
  u32: (value: number): GgufValue => ({ type: UINT32, value }),
  f32: (value: number): GgufValue => ({ type: FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: BOOL, value }),
  str: (value: string): GgufValue => ({ type: STRING, value }),
  strings: (value: string[]): GgufValue => ({ type: ARRAY, of: STRING, value }),
  i32s: (value: number[]): GgufValue => ({ type: ARRAY, of: INT32, value }),
};

export interface GgufTensor {
  name: string;
  /** ggml order: dims[0] is the contiguous (row) dimension. */
  dims: number[];
  data: Float32Array;
}

class ByteWriter {
  private readonly chunks: Buffer[] = [];
  length = 0;
  push(buf: Buffer): void {
    this.chunks.push(buf);
    this.length += buf.length;
  }
  private fixed(size: number, write: (b: Buffer) => void): void {
    const b = Buffer.alloc(size);
    write(b);
    this.push(b);
  }
  u32(n: number): void {
    this.fixed(4, (b) => b.writeUInt32LE(n));
  }
  i32(n: number): void {
    this.fixed(4, (b) => b.writeInt32LE(n));
  }
  u64(n: number): void {
    this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(n)));
  }
  f32(n: number): void {
    this.fixed(4, (b) => b.writeFloatLE(n));
  }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    if (pad) this.push(Buffer.alloc(pad));
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writeValue(w: ByteWriter, v: GgufValue): void {
  w.u32(v.type);
  if (v.type === UINT32) w.u32(v.value);
  else if (v.type === FLOAT32) w.f32(v.value);
  else if (v.type === BOOL) w.push(Buffer.from([v.value ? 1 : 0]));
  else if (v.type === STRING) w.str(v.value);
  else {
    w.u32(v.of);
    w.u64(v.value.length);
    if (v.of === STRING) for (const s of v.value) w.str(s);
    else for (const n of v.value) w.i32(n);
  }
}

/** Serialises a model. `alignment` must match the `general.alignment` in the metadata (32 when absent). */
export function serializeGguf(
  metadata: [string, GgufValue][],
  tensors: GgufTensor[],
  alignment = 32,
): Buffer {
  const header = new ByteWriter();
  header.push(Buffer.from('GGUF', 'ascii'));
  header.u32(3);
  header.u64(tensors.length);
  header.u64(metadata.length);
  for (const [key, value] of metadata) {
    header.str(key);
    writeValue(header, value);
  }
  const data = new ByteWriter();
  for (const tensor of tensors) {
    header.str(tensor.name);
    header.u32(tensor.dims.length);
    for (const d of tensor.dims) header.u64(d);
    header.u32(0); // GGML_TYPE_F32
    data.padTo(alignment);
    header.u64(data.length);
    data.push(Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
  }
  header.padTo(alignment);
  return Buffer.concat([header.toBuffer(), data.toBuffer()]);
}
