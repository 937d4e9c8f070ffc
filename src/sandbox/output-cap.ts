/**
 * Keeps the beginning and the end of a stream that may be gigabytes long, in bounded memory: the first
 * `headBytes` and a ring of the last `tailBytes`. What lies between is replaced by one line saying how
 * much was left out, so neither a model nor a person mistakes the cut output for the whole.
 */
export class OutputCap {
  private readonly head: Buffer;
  private headLen = 0;
  private readonly tail: Buffer;
  /** Bytes written into the ring so far (its write position is total % size). */
  private tailWritten = 0;
  /** Every byte seen. */
  total = 0;

  constructor(
    private readonly headBytes: number,
    private readonly tailBytes: number,
  ) {
    this.head = Buffer.alloc(headBytes);
    this.tail = Buffer.alloc(tailBytes);
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.headLen < this.headBytes) {
      const n = Math.min(this.headBytes - this.headLen, rest.length);
      rest.copy(this.head, this.headLen, 0, n);
      this.headLen += n;
      rest = rest.subarray(n);
    }
    if (rest.length === 0 || this.tailBytes === 0) return;
    if (rest.length >= this.tailBytes) rest = rest.subarray(rest.length - this.tailBytes);
    const at = this.tailWritten % this.tailBytes;
    const first = Math.min(rest.length, this.tailBytes - at);
    rest.copy(this.tail, at, 0, first);
    if (first < rest.length) rest.copy(this.tail, 0, first);
    this.tailWritten += rest.length;
  }

  /** Bytes left out of `text()`. */
  get elided(): number {
    return Math.max(0, this.total - this.headLen - Math.min(this.tailWritten, this.tailBytes));
  }

  text(): string {
    const head = this.head.subarray(0, this.headLen).toString('utf8');
    const tail = this.tailBuffer().toString('utf8');
    if (this.elided === 0) return head + tail;
    return `${head}\n[… ${this.elided} bytes of output elided …]\n${tail}`;
  }

  private tailBuffer(): Buffer {
    if (this.tailWritten <= this.tailBytes) return this.tail.subarray(0, this.tailWritten);
    const at = this.tailWritten % this.tailBytes;
    return Buffer.concat([this.tail.subarray(at), this.tail.subarray(0, at)]);
  }
}
