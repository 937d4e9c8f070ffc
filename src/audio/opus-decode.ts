/**
 * The in-process fast path for OGG/Opus voice notes — what Telegram, WhatsApp and Discord send, so most
 * of June's input: demux in TypeScript, decode with libopus (WASM) straight to 16 kHz mono.
 *
 * libopus decodes at 16 kHz natively rather than at 48 kHz followed by a resampler: SILK is coded at
 * 16 kHz or below, and for CELT the decoder drops the bands above 8 kHz in the MDCT domain before
 * synthesis, so the output is band-limited with no aliasing and a third of the work. A mono decoder
 * downmixes stereo streams itself, as ffmpeg's `-ac 1` does. The OpusHead output gain is applied.
 *
 * Errors are split three ways: the file's fault (damaged pages, bad checksums, invalid packets) →
 * audio_corrupt, exactly as the ffmpeg path reports them; a layout this path leaves alone (multistream,
 * chained or multiplexed OGG) or a codec that cannot load → InProcessDecodeDeclined, and the caller
 * decodes with ffmpeg instead; cancellation → the abort reason.
 */
import os from 'node:os';
import { abortReason } from '../util/abort.js';
import { audioErrors } from './decode-errors.js';
import { OggFormatError } from './ogg.js';
import {
  demuxOggOpus,
  OPUS_GRANULE_RATE,
  opusHeadVersionSupported,
  opusPacketSamples,
  OpusLayoutUnsupported,
  OpusStreamError,
  type OggOpusStream,
} from './opus-ogg.js';
import { isCorruptPacketError, loadOpusWasm } from './opus-codec.js';
import { STT_SAMPLE_RATE } from './pcm.js';
import { TimeSlicer } from './time-slice.js';

/** Not this file's fault: decode it another way. `reason` goes in the log. */
export class InProcessDecodeDeclined extends Error {
  override readonly name = 'InProcessDecodeDeclined';
}

/** 48 kHz granules per output sample. */
const DECIMATION = OPUS_GRANULE_RATE / STT_SAMPLE_RATE;
const littleEndianHost = os.endianness() === 'LE';

function demux(input: Buffer): OggOpusStream {
  try {
    return demuxOggOpus(input);
  } catch (err) {
    if (err instanceof OpusLayoutUnsupported) throw new InProcessDecodeDeclined(err.message);
    if (err instanceof OggFormatError || err instanceof OpusStreamError) {
      throw audioErrors.corrupt(`ogg/opus: ${err.message}`);
    }
    throw err;
  }
}

/** Decodes an OGG/Opus file to 16 kHz mono float samples. */
export async function decodeOggOpusInProcess(
  input: Buffer,
  maxSeconds: number,
  signal: AbortSignal,
): Promise<Float32Array> {
  if (signal.aborted) throw abortReason(signal);
  if (!littleEndianHost) throw new InProcessDecodeDeclined('big-endian host');
  const stream = demux(input);
  const { head } = stream;
  if (!opusHeadVersionSupported(stream.headPacket)) {
    throw new InProcessDecodeDeclined(`OpusHead version ${stream.headPacket[8]}`);
  }
  if (head.mappingFamily !== 0 || (head.channels !== 1 && head.channels !== 2)) {
    throw new InProcessDecodeDeclined(`channel mapping ${head.mappingFamily} with ${head.channels} channels`);
  }

  // Every packet's length is in its first bytes: the real duration is known before decoding any.
  let codedSamples = 0;
  for (const [i, packet] of stream.packets.entries()) {
    const n = opusPacketSamples(packet);
    if (n === undefined) throw audioErrors.corrupt(`ogg/opus: packet ${i} has an invalid header`);
    codedSamples += n;
  }
  const playable = Math.max(0, codedSamples - head.preSkip);
  const totalSamples = Math.min(stream.totalSamples ?? playable, playable);
  if (totalSamples / OPUS_GRANULE_RATE > maxSeconds) {
    throw audioErrors.tooLong(totalSamples / OPUS_GRANULE_RATE, maxSeconds);
  }

  const opus = await loadOpusWasm();
  if (signal.aborted) throw abortReason(signal);
  const decoder = new opus.Decoder({ channels: 1, sample_rate: STT_SAMPLE_RATE });
  try {
    // The OpusHead gain is applied here in float rather than by libopus, whose 16-bit output would
    // clip a loud voice note made louder.
    const scale = 10 ** (head.outputGainQ8 / 256 / 20) / 32768;
    const decoded = new Float32Array(Math.ceil(codedSamples / DECIMATION));
    let written = 0;
    const slicer = new TimeSlicer(signal);
    for (const [i, packet] of stream.packets.entries()) {
      let bytes: Uint8Array;
      try {
        bytes = decoder.decode(packet);
      } catch (err) {
        if (isCorruptPacketError(err)) throw audioErrors.corrupt(`ogg/opus: packet ${i} cannot be decoded`);
        throw new InProcessDecodeDeclined(`libopus: ${err instanceof Error ? err.message : String(err)}`);
      }
      // The decoder hands back a fresh, aligned copy of little-endian 16-bit samples.
      const pcm = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
      for (let k = 0; k < pcm.length && written < decoded.length; k++) decoded[written++] = pcm[k]! * scale;
      if (slicer.due()) await slicer.pause();
    }
    const skip = Math.round(head.preSkip / DECIMATION);
    const length = Math.min(Math.round(totalSamples / DECIMATION), Math.max(0, written - skip));
    if (length === 0) throw audioErrors.corrupt('ogg/opus: no audio samples');
    return decoded.slice(skip, skip + length);
  } finally {
    decoder.drop();
  }
}
