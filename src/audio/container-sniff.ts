/**
 * Cheap, pure-TypeScript look at an audio file's container before any process is spawned.
 *
 * Three jobs: name the container from its magic bytes (for messages and for telling "not audio" from
 * "damaged audio"), read the duration from headers where that is exact and cheap (so an hour-long file
 * is refused without decoding a byte), and spot layouts a pipe cannot handle (MP4 with the moov atom
 * after the media data) or that are visibly truncated (OGG without its end-of-stream page).
 */
import { parseWavLayout } from './wav.js';

export type SniffedContainer =
  'ogg' | 'webm' | 'matroska' | 'mp4' | 'wav' | 'flac' | 'mp3' | 'aac' | 'amr' | 'aiff' | 'caf';

export interface ContainerFacts {
  /** Undefined when the magic bytes match no audio container June knows. */
  container: SniffedContainer | undefined;
  /** Exact duration from headers, when the container records it. */
  durationSec?: number;
  /** The data visibly stops before the container says it should. */
  truncated?: boolean;
  /** MP4 whose moov atom follows mdat: ffmpeg must be able to seek, so it needs a real file. */
  needsSeekableInput?: boolean;
  /** Codec named in the headers, where known (OGG only). */
  codec?: string;
}

const ascii = (buf: Buffer, start: number, end: number) =>
  buf.length >= end ? buf.toString('latin1', start, end) : '';

export function sniffContainer(buf: Buffer): SniffedContainer | undefined {
  const b0 = buf[0] ?? 0;
  const b1 = buf[1] ?? 0;
  const b2 = buf[2] ?? 0;
  if (ascii(buf, 0, 4) === 'OggS') return 'ogg';
  if (ascii(buf, 0, 4) === 'fLaC') return 'flac';
  if (ascii(buf, 0, 4) === 'RIFF' && ascii(buf, 8, 12) === 'WAVE') return 'wav';
  if (ascii(buf, 4, 8) === 'ftyp') return 'mp4';
  if (buf.length >= 4 && buf.readUInt32BE(0) === 0x1a45dfa3) {
    return buf.subarray(0, 64).includes('webm', 0, 'latin1') ? 'webm' : 'matroska';
  }
  if (ascii(buf, 0, 5) === '#!AMR') return 'amr';
  if (ascii(buf, 0, 4) === 'FORM' && ['AIFF', 'AIFC'].includes(ascii(buf, 8, 12))) return 'aiff';
  if (ascii(buf, 0, 4) === 'caff') return 'caf';
  if (ascii(buf, 0, 3) === 'ID3') return 'mp3';
  if (b0 === 0xff && (b1 & 0xf6) === 0xf0) return 'aac'; // ADTS: sync + layer 00
  // MPEG audio frame sync with a real layer, bitrate and sample-rate index.
  if (b0 === 0xff && (b1 & 0xe0) === 0xe0 && (b1 & 0x06) !== 0 && b2 >> 4 !== 0x0f && ((b2 >> 2) & 3) !== 3) {
    return 'mp3';
  }
  return undefined;
}

/** Everything June can tell about the file without running ffmpeg. */
export function inspectContainer(buf: Buffer): ContainerFacts {
  const container = buf.length >= 12 ? sniffContainer(buf) : undefined;
  switch (container) {
    case 'ogg':
      return { container, ...inspectOgg(buf) };
    case 'mp4':
      return { container, ...inspectMp4(buf) };
    case 'flac':
      return { container, ...inspectFlac(buf) };
    case 'wav':
      return { container, ...inspectWav(buf) };
    default:
      return { container };
  }
}

/**
 * Walks the OGG pages of the first logical stream. A complete stream ends with a page flagged
 * end-of-stream (every encoder June receives from — Telegram, Discord, WhatsApp, Firefox, ffmpeg —
 * writes one); its absence means the upload was cut short.
 */
function inspectOgg(buf: Buffer): Omit<ContainerFacts, 'container'> {
  let offset = 0;
  let serial: number | undefined;
  let codec: string | undefined;
  let granuleRate: number | undefined;
  let preSkip = 0;
  let lastGranule: bigint | undefined;
  let eos = false;
  while (offset + 27 <= buf.length && ascii(buf, offset, offset + 4) === 'OggS') {
    const segments = buf[offset + 26] ?? 0;
    const tableEnd = offset + 27 + segments;
    if (tableEnd > buf.length) break;
    let bodyLength = 0;
    for (let i = offset + 27; i < tableEnd; i++) bodyLength += buf[i] ?? 0;
    const pageEnd = tableEnd + bodyLength;
    if (pageEnd > buf.length) break; // final page cut off mid-way
    const pageSerial = buf.readUInt32LE(offset + 14);
    if (serial === undefined) {
      serial = pageSerial;
      const head = buf.subarray(tableEnd, pageEnd);
      if (ascii(head, 0, 8) === 'OpusHead' && head.length >= 12) {
        codec = 'opus';
        granuleRate = 48_000; // Opus granules always count 48 kHz samples
        preSkip = head.readUInt16LE(10);
      } else if (ascii(head, 0, 7) === '\x01vorbis' && head.length >= 16) {
        codec = 'vorbis';
        granuleRate = head.readUInt32LE(12);
      } else if (ascii(head, 0, 8) === 'Speex   ' && head.length >= 40) {
        codec = 'speex';
        granuleRate = head.readUInt32LE(36);
      } else if (ascii(head, 0, 5) === '\x7fFLAC') {
        codec = 'flac';
      }
    }
    if (pageSerial === serial) {
      const granule = buf.readBigInt64LE(offset + 6);
      if (granule >= 0n) lastGranule = granule; // -1 marks a page on which no packet ends
      if (((buf[offset + 5] ?? 0) & 0x04) !== 0) {
        eos = true;
        break;
      }
    }
    offset = pageEnd;
  }
  const facts: Omit<ContainerFacts, 'container'> = { truncated: !eos };
  if (codec) facts.codec = codec;
  if (granuleRate && lastGranule !== undefined) {
    facts.durationSec = Math.max(0, Number(lastGranule) - preSkip) / granuleRate;
  }
  return facts;
}

interface Mp4Box {
  type: string;
  start: number;
  bodyStart: number;
  end: number;
}

/** Iterates the boxes in buf[start, end); stops at the first box whose size field is impossible. */
function* mp4Boxes(buf: Buffer, start: number, end: number): Generator<Mp4Box> {
  let offset = start;
  while (offset + 8 <= end) {
    let size = buf.readUInt32BE(offset);
    const type = ascii(buf, offset + 4, offset + 8);
    let header = 8;
    if (size === 1) {
      if (offset + 16 > end) return;
      size = Number(buf.readBigUInt64BE(offset + 8));
      header = 16;
    } else if (size === 0) {
      size = end - offset; // box runs to the end of the file
    }
    if (size < header) return;
    yield { type, start: offset, bodyStart: offset + header, end: offset + size };
    offset += size;
  }
}

function inspectMp4(buf: Buffer): Omit<ContainerFacts, 'container'> {
  let sawMdat = false;
  for (const box of mp4Boxes(buf, 0, buf.length)) {
    if (box.type === 'mdat') sawMdat = true;
    if (box.type !== 'moov') continue;
    const facts: Omit<ContainerFacts, 'container'> = { needsSeekableInput: sawMdat };
    for (const child of mp4Boxes(buf, box.bodyStart, Math.min(box.end, buf.length))) {
      if (child.type !== 'mvhd' || child.bodyStart + 32 > buf.length) continue;
      const v1 = buf[child.bodyStart] === 1;
      const timescale = buf.readUInt32BE(child.bodyStart + (v1 ? 20 : 12));
      const duration = v1
        ? Number(buf.readBigUInt64BE(child.bodyStart + 24))
        : buf.readUInt32BE(child.bodyStart + 16);
      // Fragmented MP4 (browser recordings) leaves the duration 0 or all-ones: unknown, not zero.
      const unknown = duration === 0 || duration === 0xffffffff || !Number.isSafeInteger(duration);
      if (timescale > 0 && !unknown) facts.durationSec = duration / timescale;
    }
    return facts;
  }
  // No moov in front: if media data came first, the moov may follow it (or be missing entirely).
  return { needsSeekableInput: sawMdat };
}

function inspectFlac(buf: Buffer): Omit<ContainerFacts, 'container'> {
  // fLaC, then the mandatory STREAMINFO block: sample rate (20 bits) and total samples (36 bits).
  if (buf.length < 26 || ((buf[4] ?? 0) & 0x7f) !== 0) return {};
  const rate = ((buf[18] ?? 0) << 12) | ((buf[19] ?? 0) << 4) | ((buf[20] ?? 0) >> 4);
  const total = ((buf[21] ?? 0) & 0x0f) * 2 ** 32 + buf.readUInt32BE(22);
  return rate > 0 && total > 0 ? { durationSec: total / rate } : {};
}

function inspectWav(buf: Buffer): Omit<ContainerFacts, 'container'> {
  try {
    const layout = parseWavLayout(buf);
    const frameBytes = (layout.bitsPerSample / 8) * layout.channels;
    const facts: Omit<ContainerFacts, 'container'> = { truncated: layout.truncated };
    if (frameBytes > 0 && layout.sampleRate > 0)
      facts.durationSec = layout.dataBytes / frameBytes / layout.sampleRate;
    return facts;
  } catch {
    // A header this parser cannot follow is left for ffmpeg to judge.
    return {};
  }
}
