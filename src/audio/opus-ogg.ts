/**
 * Opus inside OGG (RFC 7845): the OpusHead/OpusTags headers, packet durations from the TOC byte
 * (RFC 6716 §3.1), splitting a file into Opus packets, and writing packets out as a voice note.
 *
 * Granule positions in an Opus stream always count 48 kHz samples, whatever rate was encoded or is
 * decoded; the first `preSkip` of them are encoder warm-up to be discarded, and the final page's granule
 * may stop short of the last packet's end ("end trimming") so the file lasts exactly as long as its input.
 */
import {
  OGG_BOS,
  OGG_EOS,
  oggPackets,
  readOggPages,
  MAX_SEGMENTS,
  lacingCount,
  writeOggPage,
} from './ogg.js';

export const OPUS_GRANULE_RATE = 48_000;

export interface OpusHead {
  channels: number;
  /** 48 kHz samples to drop from the start of the decoded audio. */
  preSkip: number;
  /** The rate of the audio before it was encoded; informational only. */
  inputSampleRate: number;
  /** Gain to apply on decode, in Q7.8 dB. */
  outputGainQ8: number;
  /** 0: mono/stereo, one stream. Anything else: a multistream layout. */
  mappingFamily: number;
}

export class OpusStreamError extends Error {
  override readonly name = 'OpusStreamError';
}

export function parseOpusHead(packet: Buffer): OpusHead | undefined {
  if (packet.length < 19 || packet.toString('latin1', 0, 8) !== 'OpusHead') return undefined;
  return {
    // Byte 8 is the version; RFC 7845 makes any with a zero major nibble readable by this parser.
    channels: packet[9]!,
    preSkip: packet.readUInt16LE(10),
    inputSampleRate: packet.readUInt32LE(12),
    outputGainQ8: packet.readInt16LE(16),
    mappingFamily: packet[18]!,
  };
}

export function opusHeadVersionSupported(packet: Buffer): boolean {
  return ((packet[8] ?? 0xff) & 0xf0) === 0;
}

/** 48 kHz samples in one Opus packet, or undefined for a packet that breaks RFC 6716's framing rules. */
export function opusPacketSamples(packet: Uint8Array): number | undefined {
  const toc = packet[0];
  if (toc === undefined) return undefined;
  const config = toc >> 3;
  let frame: number;
  if (config < 12)
    frame = [480, 960, 1920, 2880][config & 3]!; // SILK: 10, 20, 40, 60 ms
  else if (config < 16)
    frame = (config & 1) === 0 ? 480 : 960; // hybrid: 10, 20 ms
  else frame = [120, 240, 480, 960][config & 3]!; // CELT: 2.5, 5, 10, 20 ms
  let frames: number;
  switch (toc & 3) {
    case 0:
      frames = 1;
      break;
    case 1:
    case 2:
      frames = 2;
      break;
    default: {
      const count = packet[1];
      if (count === undefined) return undefined;
      frames = count & 0x3f;
    }
  }
  const samples = frames * frame;
  // A packet holds at least one frame and at most 120 ms.
  return frames > 0 && samples <= 5760 ? samples : undefined;
}

export interface OggOpusStream {
  head: OpusHead;
  /** Audio packets, headers excluded, in order. */
  packets: Buffer[];
  /** 48 kHz samples the file says it holds after pre-skip and end trimming; undefined if unknown. */
  totalSamples: number | undefined;
  /** The OpusHead packet, for callers that check its version. */
  headPacket: Buffer;
}

/** Thrown for a layout the in-process path does not handle but another decoder might. */
export class OpusLayoutUnsupported extends Error {
  override readonly name = 'OpusLayoutUnsupported';
}

/**
 * Splits an OGG/Opus file into its header and audio packets. Throws OggFormatError/OpusStreamError
 * for damage (bad checksum, broken pages, missing headers) and OpusLayoutUnsupported for valid files
 * this parser leaves to ffmpeg (several logical streams, chained streams).
 */
export function demuxOggOpus(buf: Buffer): OggOpusStream {
  const pages = readOggPages(buf);
  const first = pages[0];
  if (!first || (first.flags & OGG_BOS) === 0) throw new OpusStreamError('no beginning-of-stream page');
  const bad = pages.find((p) => !p.crcOk);
  if (bad) throw new OpusStreamError(`checksum mismatch on the page at byte ${bad.offset}`);
  if (pages.some((p) => p.serial !== first.serial)) {
    throw new OpusLayoutUnsupported('more than one logical stream');
  }
  const eosAt = pages.findIndex((p) => (p.flags & OGG_EOS) !== 0);
  if (eosAt < 0) throw new OpusStreamError('no end-of-stream page');
  if (eosAt !== pages.length - 1) throw new OpusLayoutUnsupported('data after the end-of-stream page');
  pages.forEach((p, i) => {
    if (p.sequence !== (first.sequence + i) >>> 0) throw new OpusStreamError(`page ${i} is out of sequence`);
  });

  const all = oggPackets(pages);
  const headPacket = all[0]?.data;
  const head = headPacket ? parseOpusHead(headPacket) : undefined;
  if (!headPacket || !head) throw new OpusStreamError('no OpusHead packet');
  const tags = all[1]?.data;
  if (!tags || tags.toString('latin1', 0, 8) !== 'OpusTags') throw new OpusStreamError('no OpusTags packet');
  const audio = all.slice(2);
  const lastGranule = pages.at(-1)!.granule;
  const totalSamples = lastGranule >= 0n ? Math.max(0, Number(lastGranule) - head.preSkip) : undefined;
  return { head, packets: audio.map((p) => p.data), totalSamples, headPacket };
}

// ---------------------------------------------------------------- writing

export interface OggOpusMuxOptions {
  /** Encoded packets, in order. */
  packets: readonly Uint8Array[];
  /** 48 kHz samples each packet decodes to (same length as `packets`). */
  packetSamples: readonly number[];
  /** Encoder look-ahead in 48 kHz samples. */
  preSkip: number;
  /** 48 kHz samples of real audio; the rest of the last packet is trimmed by the final granule. */
  totalSamples: number;
  inputSampleRate: number;
  serial: number;
  /** Packets per page at most; pages also close when their 255 lacing values run out. */
  maxPacketsPerPage?: number;
}

const VENDOR = 'June';

function opusHeadPacket(preSkip: number, inputSampleRate: number): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1; // version
  head[9] = 1; // channels
  head.writeUInt16LE(preSkip, 10);
  head.writeUInt32LE(inputSampleRate, 12);
  head.writeInt16LE(0, 16); // output gain
  head[18] = 0; // mapping family 0: mono/stereo
  return head;
}

function opusTagsPacket(): Buffer {
  const vendor = Buffer.from(VENDOR, 'utf8');
  const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
  tags.write('OpusTags', 0, 'latin1');
  tags.writeUInt32LE(vendor.length, 8);
  vendor.copy(tags, 12);
  tags.writeUInt32LE(0, 12 + vendor.length); // no user comments
  return tags;
}

/** A complete mono OGG/Opus file: OpusHead page, OpusTags page, then audio pages, the last flagged EOS. */
export function muxOggOpus(opts: OggOpusMuxOptions): Buffer {
  const { packets, packetSamples, preSkip, totalSamples, serial } = opts;
  const perPage = opts.maxPacketsPerPage ?? 50; // 1 s of 20 ms packets, as ffmpeg's muxer does
  if (packets.length === 0 || packets.length !== packetSamples.length) {
    throw new RangeError('muxOggOpus: needs one duration per packet, and at least one packet');
  }
  const encoded = packetSamples.reduce((a, b) => a + b, 0);
  const finalGranule = preSkip + totalSamples;
  const lastPacketStart = encoded - packetSamples.at(-1)!;
  // End trimming may only cut into the last packet.
  if (finalGranule > encoded || finalGranule < lastPacketStart) {
    throw new RangeError(`muxOggOpus: ${totalSamples} samples do not match ${packets.length} packets`);
  }
  const pages: Buffer[] = [];
  let sequence = 0;
  const page = (flags: number, granule: bigint, pagePackets: readonly Uint8Array[]) =>
    pages.push(writeOggPage({ flags, granule, serial, sequence: sequence++, packets: pagePackets }));
  page(OGG_BOS, 0n, [opusHeadPacket(preSkip, opts.inputSampleRate)]);
  page(0, 0n, [opusTagsPacket()]);

  let granule = 0;
  let pending: Uint8Array[] = [];
  let lacing = 0;
  packets.forEach((packet, i) => {
    const need = lacingCount(packet.length);
    if (need > MAX_SEGMENTS) throw new RangeError(`muxOggOpus: packet ${i} is too large for one page`);
    if (pending.length === perPage || lacing + need > MAX_SEGMENTS) {
      page(0, BigInt(granule), pending);
      pending = [];
      lacing = 0;
    }
    pending.push(packet);
    lacing += need;
    granule += packetSamples[i]!;
  });
  page(OGG_EOS, BigInt(finalGranule), pending);
  return Buffer.concat(pages);
}
