/**
 * The OGG page layer (RFC 3533) in pure TypeScript: reading pages with their checksums verified,
 * reassembling packets, and writing pages. Codec-specific parts (OpusHead, granule meaning) live in
 * opus-ogg.ts.
 */

/** Header flag bits. */
export const OGG_CONTINUED = 0x01;
export const OGG_BOS = 0x02;
export const OGG_EOS = 0x04;

const HEADER_BYTES = 27;
/** A page's body is at most 255 lacing values of at most 255 bytes. */
export const MAX_SEGMENTS = 255;

/** OGG's CRC-32: polynomial 0x04c11db7, not reflected, initial value 0, no final xor. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

export function oggCrc32(bytes: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) {
    crc = (crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]!) & 0xff]!;
  }
  return crc >>> 0;
}

export interface OggPage {
  /** Byte offset of the page in the file. */
  offset: number;
  flags: number;
  /** -1 when no packet ends on this page. */
  granule: bigint;
  serial: number;
  sequence: number;
  /** Lacing values: a value below 255 ends a packet. */
  segments: Uint8Array;
  body: Buffer;
  /** The stored checksum matches the page's bytes. */
  crcOk: boolean;
}

/** Why a byte range could not be read as OGG pages. */
export class OggFormatError extends Error {
  override readonly name = 'OggFormatError';
}

/**
 * Every page in `buf`, in order. Throws OggFormatError where the data stops being pages (lost sync,
 * a page cut short): the file is damaged or truncated.
 */
export function readOggPages(buf: Buffer): OggPage[] {
  const pages: OggPage[] = [];
  let offset = 0;
  while (offset < buf.length) {
    if (offset + HEADER_BYTES > buf.length) throw new OggFormatError(`page header cut short at ${offset}`);
    if (buf.toString('latin1', offset, offset + 4) !== 'OggS' || buf[offset + 4] !== 0) {
      throw new OggFormatError(`no OGG page at byte ${offset}`);
    }
    const count = buf[offset + 26]!;
    const bodyStart = offset + HEADER_BYTES + count;
    if (bodyStart > buf.length) throw new OggFormatError(`segment table cut short at ${offset}`);
    const segments = buf.subarray(offset + HEADER_BYTES, bodyStart);
    let bodyLength = 0;
    for (const s of segments) bodyLength += s;
    const end = bodyStart + bodyLength;
    if (end > buf.length) throw new OggFormatError(`page at ${offset} cut short`);
    // The checksum covers the whole page with its own field read as zero.
    const page = Buffer.from(buf.subarray(offset, end));
    const stored = page.readUInt32LE(22);
    page.writeUInt32LE(0, 22);
    pages.push({
      offset,
      flags: buf[offset + 5]!,
      granule: buf.readBigInt64LE(offset + 6),
      serial: buf.readUInt32LE(offset + 14),
      sequence: buf.readUInt32LE(offset + 18),
      segments,
      body: buf.subarray(bodyStart, end),
      crcOk: oggCrc32(page) === stored,
    });
    offset = end;
  }
  return pages;
}

/** A packet and the granule position of the page it ended on (-1 if it was not the page's last). */
export interface OggPacket {
  data: Buffer;
  pageGranule: bigint;
  /** Index of the page the packet ended on. */
  pageIndex: number;
}

/**
 * Reassembles the packets of one logical stream from its pages (already filtered to one serial).
 * Throws OggFormatError when a continuation has nothing to continue or the last packet never ends.
 */
export function oggPackets(pages: readonly OggPage[]): OggPacket[] {
  const packets: OggPacket[] = [];
  let pending: Buffer[] = [];
  pages.forEach((page, pageIndex) => {
    const continued = (page.flags & OGG_CONTINUED) !== 0;
    if (continued !== pending.length > 0) {
      // A continued page with nothing pending (or a fresh page while a packet is open) means pages
      // went missing in between.
      throw new OggFormatError(`page ${page.sequence} breaks packet continuity`);
    }
    const firstOnPage = packets.length;
    let start = 0;
    let pos = 0;
    for (const lacing of page.segments) {
      pos += lacing;
      if (lacing === 255) continue;
      pending.push(page.body.subarray(start, pos));
      const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      packets.push({ data, pageGranule: -1n, pageIndex });
      pending = [];
      start = pos;
    }
    if (start < pos) pending.push(page.body.subarray(start, pos));
    // The granule position belongs to the last packet that ends on the page.
    const last = packets.length > firstOnPage ? packets.at(-1) : undefined;
    if (last) last.pageGranule = page.granule;
  });
  if (pending.length > 0) throw new OggFormatError('the last packet never ends');
  return packets;
}

export interface OggPageSpec {
  flags: number;
  granule: bigint;
  serial: number;
  sequence: number;
  /** Whole packets, laced in order; together they must fit one page's 255 lacing values. */
  packets: readonly Uint8Array[];
}

/** Lacing values a packet of `length` bytes takes: whole 255s and one terminator (possibly 0). */
export function lacingCount(length: number): number {
  return Math.floor(length / 255) + 1;
}

/** One page's bytes, checksum included. */
export function writeOggPage(spec: OggPageSpec): Buffer {
  const lacing: number[] = [];
  for (const p of spec.packets) {
    for (let left = p.length; ; left -= 255) {
      lacing.push(Math.min(left, 255));
      if (left < 255) break;
    }
  }
  if (lacing.length > MAX_SEGMENTS) throw new RangeError(`OGG page needs ${lacing.length} lacing values`);
  const bodyLength = spec.packets.reduce((n, p) => n + p.length, 0);
  const page = Buffer.alloc(HEADER_BYTES + lacing.length + bodyLength);
  page.write('OggS', 0, 'latin1');
  page[4] = 0; // stream structure version
  page[5] = spec.flags;
  page.writeBigInt64LE(spec.granule, 6);
  page.writeUInt32LE(spec.serial >>> 0, 14);
  page.writeUInt32LE(spec.sequence >>> 0, 18);
  page[26] = lacing.length;
  page.set(lacing, HEADER_BYTES);
  let at = HEADER_BYTES + lacing.length;
  for (const p of spec.packets) {
    page.set(p, at);
    at += p.length;
  }
  page.writeUInt32LE(oggCrc32(page), 22);
  return page;
}
