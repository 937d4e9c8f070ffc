/**
 * encodeAudio: PCM (any rate) → bytes a chat app can play.
 *
 * OGG is Opus at 48 kHz mono, `-application voip`: exactly what Telegram's sendVoice and Discord voice
 * messages expect, so replies show up as voice notes rather than file attachments. WAV is written in
 * pure TypeScript (16-bit, the input's own rate); MP3 goes through libmp3lame.
 */
import type { PcmAudio } from '../providers/types.js';
import { JuneError } from '../util/errors.js';
import { throwIfAborted } from '../util/abort.js';
import { runAudioEngine } from './ffmpeg-process.js';
import { assertUsablePcm, float32ToLeBytes } from './pcm.js';
import { pcmToWav } from './wav.js';

export type EncodeFormat = 'ogg' | 'wav' | 'mp3';

export interface EncodeOptions {
  signal?: AbortSignal;
  /** Target bitrate for OGG/Opus (default 32) and MP3 (default 64); ignored for WAV. */
  bitrateKbps?: number;
}

const DEFAULT_KBPS: Record<Exclude<EncodeFormat, 'wav'>, number> = { ogg: 32, mp3: 64 };

/** Sample rates an MPEG-1/2/2.5 layer III stream can carry. */
const MP3_RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];

export function mimeTypeFor(format: EncodeFormat): string {
  switch (format) {
    case 'ogg':
      return 'audio/ogg';
    case 'mp3':
      return 'audio/mpeg';
    case 'wav':
      return 'audio/wav';
  }
}

/** MP3 keeps the input rate when it can; otherwise the next rate up (48 kHz at most). */
function mp3RateFor(rate: number): number {
  return MP3_RATES.find((r) => r >= rate) ?? 48_000;
}

function codecArgs(format: Exclude<EncodeFormat, 'wav'>, inputRate: number, kbps: number): string[] {
  if (format === 'ogg') {
    return [
      '-c:a',
      'libopus',
      '-b:a',
      `${kbps}k`,
      '-application',
      'voip',
      '-ar',
      '48000',
      '-ac',
      '1',
      '-f',
      'ogg',
    ];
  }
  return [
    '-c:a',
    'libmp3lame',
    '-b:a',
    `${kbps}k`,
    '-ar',
    String(mp3RateFor(inputRate)),
    '-ac',
    '1',
    '-f',
    'mp3',
  ];
}

export async function encodeAudio(
  pcm: PcmAudio,
  format: EncodeFormat,
  opts: EncodeOptions = {},
): Promise<Buffer> {
  assertUsablePcm(pcm, `encode ${format}`);
  throwIfAborted(opts.signal);
  if (format === 'wav') return pcmToWav(pcm);

  const kbps = opts.bitrateKbps ?? DEFAULT_KBPS[format];
  if (!Number.isFinite(kbps) || kbps < 6 || kbps > 320) {
    throw new RangeError(`encodeAudio: bitrate ${kbps} kbps is outside 6–320`);
  }
  const rate = String(pcm.sampleRate);
  const args = [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'error',
    '-f',
    'f32le',
    '-ar',
    rate,
    '-ac',
    '1',
    '-i',
    'pipe:0',
    ...codecArgs(format, pcm.sampleRate, kbps),
    'pipe:1',
  ];
  const result = await runAudioEngine('ffmpeg', args, {
    input: float32ToLeBytes(pcm.samples),
    signal: opts.signal,
  });
  if (result.exitCode !== 0 || result.stdout.length === 0) {
    throw new JuneError(
      `ffmpeg ${format} encode failed (status ${result.exitCode}): ${result.stderr.trim().slice(-500)}`,
      {
        code: 'audio_encode_failed',
        userMessage: 'I could not turn my reply into audio. Please try again.',
      },
    );
  }
  return result.stdout;
}
