/**
 * Incremental SHA-256 / SHA-1 over a download, so the file is hashed while it streams in instead of being
 * read a second time at the end. A resumed download first feeds the bytes already on disk.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';

export interface ExpectedDigests {
  sha256?: string;
  sha1?: string;
}

export class Digests {
  private sha256: Hash | undefined;
  private sha1: Hash | undefined;

  constructor(private readonly expected: ExpectedDigests) {
    this.reset();
  }

  /** False when no checksum is known: nothing to hash, nothing to verify. */
  get active(): boolean {
    return Boolean(this.expected.sha256 || this.expected.sha1);
  }

  /** Starts over, for when the server ignores a Range request and sends the file from byte 0. */
  reset(): void {
    this.sha256 = this.expected.sha256 ? createHash('sha256') : undefined;
    this.sha1 = this.expected.sha1 ? createHash('sha1') : undefined;
  }

  update(chunk: Buffer): void {
    this.sha256?.update(chunk);
    this.sha1?.update(chunk);
  }

  /** Feeds the first `bytes` bytes of `file` (the part kept from an earlier attempt). */
  async updateFromFile(file: string, bytes: number): Promise<void> {
    if (!this.active || bytes <= 0) return;
    for await (const chunk of fs.createReadStream(file, { start: 0, end: bytes - 1 }))
      this.update(chunk as Buffer);
  }

  /** One line per checksum that does not match, e.g. "SHA-256 is ab12…, expected cd34…". */
  mismatches(): string[] {
    const out: string[] = [];
    const check = (name: string, hash: Hash | undefined, expected: string | undefined) => {
      if (!hash || !expected) return;
      const actual = hash.digest('hex');
      if (actual !== expected.toLowerCase())
        out.push(`${name} is ${actual}, expected ${expected.toLowerCase()}`);
    };
    check('SHA-256', this.sha256, this.expected.sha256);
    check('SHA-1', this.sha1, this.expected.sha1);
    return out;
  }
}
