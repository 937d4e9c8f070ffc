/**
 * Pure-TypeScript WAV reading and writing, so the common TTS path (engine → WAV → PCM) needs no ffmpeg.
 *
 * Reading copes with what engines actually emit: 8/16/24/32-bit integer PCM, 32/64-bit float,
 * WAVE_FORMAT_EXTENSIBLE, any channel count (averaged to mono), and streamed WAVs written to stdout
 * (espeak-ng --stdout) whose RIFF/data sizes are placeholders (0, 0xFFFFFFFF or ~0x7FFFF000) because the
 * writer could not seek back to fill them in.
 */
import type { PcmAudio } from './pcm-audio.js';
import { AudioError } from '../util/errors.js';

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

/** Data sizes at or above this are streaming placeholders, not real lengths (no WAV is 2 GB here). */
const PLACEHOLDER_SIZE = 0x7f000000;

export interface WavLayout {
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Byte offset of the first sample. */
  dataOffset: number;
  /** The data size the header declares (may be a placeholder). */
  declaredDataBytes: number;
  /** Bytes of sample data actually present (whole frames only). */
  dataBytes: number;
  /** True when the header promises more data than the buffer holds and the size is not a placeholder. */
  truncated: boolean;
}

export function isWav(buf: Buffer): boolean {
  return (
    buf.length >= 12 && buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WAVE'
  );
}

function corrupt(message: string): AudioError {
  return new AudioError(
    'audio_corrupt',
    `wav: ${message}`,
    'That WAV file seems to be damaged, so I could not read it. Please try sending it again.',
  );
}

/** Walks the RIFF chunks and describes the sample data. Throws AudioError for non-WAV or broken headers. */
export function parseWavLayout(buf: Buffer): WavLayout {
  if (!isWav(buf)) {
    throw new AudioError(
      'audio_not_audio',
      'wav: no RIFF/WAVE header',
      'That file does not look like a WAV file.',
    );
  }
  let offset = 12;
  let fmt: Omit<WavLayout, 'dataOffset' | 'declaredDataBytes' | 'dataBytes' | 'truncated'> | undefined;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('latin1', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw corrupt('fmt chunk too short');
      let format = buf.readUInt16LE(body);
      // WAVE_FORMAT_EXTENSIBLE keeps the real format in the first two bytes of its sub-format GUID.
      if (format === FORMAT_EXTENSIBLE && size >= 40 && body + 26 <= buf.length)
        format = buf.readUInt16LE(body + 24);
      fmt = {
        format,
        channels: buf.readUInt16LE(body + 2),
        sampleRate: buf.readUInt32LE(body + 4),
        bitsPerSample: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw corrupt('data chunk before fmt chunk');
      const available = buf.length - body;
      const placeholder = size === 0 || size >= PLACEHOLDER_SIZE;
      const frameBytes = (fmt.bitsPerSample / 8) * fmt.channels;
      const usable = placeholder ? available : Math.min(size, available);
      return {
        ...fmt,
        dataOffset: body,
        declaredDataBytes: size,
        dataBytes: frameBytes > 0 ? usable - (usable % frameBytes) : 0,
        truncated: !placeholder && size > available,
      };
    }
    // Chunks are padded to an even length.
    offset = body + size + (size % 2);
  }
  throw corrupt(fmt ? 'no data chunk' : 'no fmt chunk');
}

function sampleReader(layout: WavLayout, buf: Buffer): (byteOffset: number) => number {
  const { format, bitsPerSample } = layout;
  if (format === FORMAT_PCM) {
    if (bitsPerSample === 8) return (o) => (buf.readUInt8(o) - 128) / 128;
    if (bitsPerSample === 16) return (o) => buf.readInt16LE(o) / 32768;
    if (bitsPerSample === 24) return (o) => buf.readIntLE(o, 3) / 8388608;
    if (bitsPerSample === 32) return (o) => buf.readInt32LE(o) / 2147483648;
  } else if (format === FORMAT_FLOAT) {
    if (bitsPerSample === 32) return (o) => buf.readFloatLE(o);
    if (bitsPerSample === 64) return (o) => buf.readDoubleLE(o);
  }
  throw new AudioError(
    'audio_unsupported',
    `wav: unsupported sample format ${format} with ${bitsPerSample} bits`,
    'That WAV file uses an audio encoding I cannot read. Please send plain PCM WAV, OGG, MP3 or M4A.',
  );
}

/** Decodes a WAV buffer to mono float PCM at the file's own sample rate. */
export function wavToPcm(buf: Buffer): PcmAudio {
  const layout = parseWavLayout(buf);
  if (layout.channels < 1 || layout.sampleRate < 1) throw corrupt('zero channels or sample rate');
  const read = sampleReader(layout, buf);
  const bytesPerSample = layout.bitsPerSample / 8;
  const frameBytes = bytesPerSample * layout.channels;
  const frames = layout.dataBytes / frameBytes;
  const samples = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    const base = layout.dataOffset + f * frameBytes;
    let sum = 0;
    for (let c = 0; c < layout.channels; c++) sum += read(base + c * bytesPerSample);
    samples[f] = sum / layout.channels;
  }
  return { sampleRate: layout.sampleRate, samples };
}

/** Encodes mono PCM as a 16-bit WAV at its own sample rate. Out-of-range samples are clipped. */
export function pcmToWav(pcm: PcmAudio): Buffer {
  const dataBytes = pcm.samples.length * 2;
  const buf = Buffer.alloc(44 + dataBytes);
  buf.write('RIFF', 0, 'latin1');
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write('WAVE', 8, 'latin1');
  buf.write('fmt ', 12, 'latin1');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(FORMAT_PCM, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(pcm.sampleRate, 24);
  buf.writeUInt32LE(pcm.sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'latin1');
  buf.writeUInt32LE(dataBytes, 40);
  let o = 44;
  for (const v of pcm.samples) {
    const clipped = Number.isFinite(v) ? Math.max(-1, Math.min(1, v)) : 0;
    buf.writeInt16LE(Math.round(clipped < 0 ? clipped * 32768 : clipped * 32767), o);
    o += 2;
  }
  return buf;
}
