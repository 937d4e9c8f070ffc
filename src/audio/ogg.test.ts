import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OGG_BOS,
  OGG_CONTINUED,
  OGG_EOS,
  oggCrc32,
  OggFormatError,
  oggPackets,
  readOggPages,
  writeOggPage,
} from './ogg.js';
import { FixtureDir, TEN_SECOND_TEXT } from './test-fixtures.js';

let fx: FixtureDir;

beforeAll(async () => {
  fx = await FixtureDir.create();
  fx.speak('speech.wav', TEN_SECOND_TEXT);
  fx.convert('speech.wav', 'voice.ogg', ['-c:a', 'libopus', '-b:a', '24k']);
  // Vorbis's setup header is several KB: a packet that spans many 255-byte lacing values.
  fx.convert('speech.wav', 'speech.oga', ['-c:a', 'libvorbis', '-f', 'ogg']);
});

afterAll(async () => {
  await fx?.remove();
});

describe('oggCrc32', () => {
  it('is the unreflected CRC-32 with polynomial 0x04c11db7, initial value 0 and no final xor', () => {
    // The published check value of CRC-32/POSIX ("123456789") is 0x765e7680, with a final xor of
    // all ones; OGG's variant omits that xor.
    expect(oggCrc32(Buffer.from('123456789', 'latin1'))).toBe((0x765e7680 ^ 0xffffffff) >>> 0);
    expect(oggCrc32(new Uint8Array(0))).toBe(0);
  });

  it('agrees with the checksum ffmpeg writes on every page of its files', async () => {
    for (const name of ['voice.ogg', 'speech.oga']) {
      const pages = readOggPages(await fx.read(name));
      expect(pages.length).toBeGreaterThan(3);
      expect(pages.every((p) => p.crcOk)).toBe(true);
    }
  });

  it('flags the one page whose body was altered', async () => {
    const bytes = Buffer.from(await fx.read('voice.ogg'));
    const target = readOggPages(bytes)[3]!;
    bytes[target.offset + 27 + target.segments.length + 5]! ^= 0x10;
    const pages = readOggPages(bytes);
    expect(pages.filter((p) => !p.crcOk).map((p) => p.offset)).toEqual([target.offset]);
  });
});

describe('readOggPages and oggPackets', () => {
  it('reassembles ffmpeg packets, including one spread over many lacing values', async () => {
    const pages = readOggPages(await fx.read('speech.oga'));
    const packets = oggPackets(pages);
    // Vorbis: identification, comment, setup headers, then audio.
    expect(packets[0]!.data.subarray(1, 7).toString('latin1')).toBe('vorbis');
    expect(packets[0]!.data[0]).toBe(1);
    expect(packets[2]!.data[0]).toBe(5);
    expect(packets[2]!.data.length).toBeGreaterThan(255 * 4);
    // Every byte of every body belongs to exactly one packet.
    const bodyBytes = pages.reduce((n, p) => n + p.body.length, 0);
    expect(packets.reduce((n, p) => n + p.data.length, 0)).toBe(bodyBytes);
    expect((pages[0]!.flags & OGG_BOS) !== 0).toBe(true);
    expect((pages.at(-1)!.flags & OGG_EOS) !== 0).toBe(true);
    expect(packets.at(-1)!.pageGranule).toBe(pages.at(-1)!.granule);
  });

  it('throws OggFormatError for a file cut inside a page or with bytes that are not a page', async () => {
    const bytes = await fx.read('voice.ogg');
    expect(() => readOggPages(bytes.subarray(0, bytes.length - 10))).toThrow(OggFormatError);
    expect(() => readOggPages(Buffer.concat([bytes, Buffer.from('trailing junk')]))).toThrow(OggFormatError);
  });

  it('joins a packet continued on the next page, and notices when that page is missing', () => {
    const first = rawPage(OGG_BOS, -1n, 0, [255, 255], Buffer.alloc(510, 7)); // packet not finished
    const second = rawPage(OGG_CONTINUED, 960n, 1, [45, 10], Buffer.alloc(55, 9));
    const third = rawPage(OGG_EOS, 1920n, 2, [20], Buffer.alloc(20, 4));
    const pages = readOggPages(Buffer.concat([first, second, third]));
    expect(pages.every((p) => p.crcOk)).toBe(true);
    const packets = oggPackets(pages);
    expect(packets.map((p) => p.data.length)).toEqual([555, 10, 20]);
    expect(packets[0]!.data.subarray(505, 515)).toEqual(Buffer.from([7, 7, 7, 7, 7, 9, 9, 9, 9, 9]));
    // Only the last packet ending on a page carries that page's granule position.
    expect(packets.map((p) => p.pageGranule)).toEqual([-1n, 960n, 1920n]);
    expect(() => oggPackets([pages[0]!, pages[2]!])).toThrow(OggFormatError); // unfinished, then fresh
    expect(() => oggPackets([pages[1]!, pages[2]!])).toThrow(OggFormatError); // continues nothing
    expect(() => oggPackets([pages[0]!])).toThrow(OggFormatError); // never ends
  });
});

/** A page with explicit lacing values, which writeOggPage (whole packets only) cannot produce. */
function rawPage(flags: number, granule: bigint, sequence: number, lacing: number[], body: Buffer): Buffer {
  const header = Buffer.alloc(27 + lacing.length);
  header.write('OggS', 0, 'latin1');
  header[5] = flags;
  header.writeBigInt64LE(granule, 6);
  header.writeUInt32LE(42, 14);
  header.writeUInt32LE(sequence, 18);
  header[26] = lacing.length;
  header.set(lacing, 27);
  const page = Buffer.concat([header, body]);
  page.writeUInt32LE(oggCrc32(page), 22);
  return page;
}

describe('writeOggPage', () => {
  it('writes a page that reads back with the same fields, lacing and a valid checksum', () => {
    const packets = [Buffer.alloc(10, 1), Buffer.alloc(255, 2), Buffer.alloc(600, 3)];
    const bytes = writeOggPage({
      flags: OGG_BOS,
      granule: 123456n,
      serial: 0xdeadbeef,
      sequence: 7,
      packets,
    });
    const [page] = readOggPages(bytes);
    expect(page).toMatchObject({
      flags: OGG_BOS,
      granule: 123456n,
      serial: 0xdeadbeef,
      sequence: 7,
      crcOk: true,
    });
    // 10 → [10]; 255 → [255, 0]; 600 → [255, 255, 90].
    expect([...page!.segments]).toEqual([10, 255, 0, 255, 255, 90]);
    expect(oggPackets([page!]).map((p) => p.data)).toEqual(packets);
  });

  it('refuses packets that need more than 255 lacing values', () => {
    const big = Buffer.alloc(255 * 255);
    expect(() => writeOggPage({ flags: 0, granule: 0n, serial: 1, sequence: 0, packets: [big] })).toThrow(
      RangeError,
    );
  });
});
