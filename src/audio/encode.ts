/**
 * encodeAudio: PCM (any rate) → bytes a chat app can play.
 *
 * OGG is Opus mono, `voip` application, 20 ms frames: exactly what Telegram's sendVoice and Discord
 * voice messages expect, so replies show up as voice notes rather than file attachments. It is encoded
 * in-process (opus-encode.ts: libopus as WASM, OGG pages written here), which saves the ~60 ms an ffmpeg
 * start costs on every reply; ffmpeg's libopus remains the fallback and can be chosen with
 * `engine: 'ffmpeg'`. WAV is written in pure TypeScript (16-bit, the input's own rate); MP3 goes
 * through libmp3lame.
 *
 * MP3 is written to a temp file rather than stdout: only a seekable output gets the LAME/Xing header
 * that records encoder delay and padding, without which players add up to ~0.2 s of silence and
 * guess the duration.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PcmAudio } from './pcm-audio.js';
import { JuneError } from '../util/errors.js';
import { throwIfAborted } from '../util/abort.js';
import { getLogger } from '../observability/logger.js';
import { runAudioEngine, type EngineRunResult } from './ffmpeg-process.js';
import { encodeOggOpusInProcess, InProcessEncodeDeclined } from './opus-encode.js';
import { EncodePoolUnavailable, encodeOggOpusOffThread } from './opus-encode-pool.js';
import { assertUsablePcm, float32ToLeBytes } from './pcm.js';
import { pcmToWav } from './wav.js';

export type EncodeFormat = 'ogg' | 'wav' | 'mp3';

export interface EncodeOptions {
  signal?: AbortSignal;
  /** Target bitrate for OGG/Opus (default 32) and MP3 (default 64); ignored for WAV. */
  bitrateKbps?: number;
  /** 'auto' (default): OGG/Opus in-process, falling back to ffmpeg. 'ffmpeg': always ffmpeg. */
  engine?: 'auto' | 'ffmpeg';
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
  if (format === 'ogg' && opts.engine !== 'ffmpeg') {
    try {
      // On a worker thread, so many replies at once do not hold up the event loop; in-process if none runs.
      return await encodeOggOpusOffThread(pcm, { bitrateKbps: kbps, signal: opts.signal }).catch(
        (err: unknown) => {
          if (err instanceof EncodePoolUnavailable)
            return encodeOggOpusInProcess(pcm, { bitrateKbps: kbps, signal: opts.signal });
          throw err;
        },
      );
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      // Nothing about the PCM makes the in-process encoder fail (it was checked above): whatever went
      // wrong there, ffmpeg's own libopus can still answer.
      const fields = { err: err instanceof Error ? err.message : String(err) };
      if (err instanceof InProcessEncodeDeclined)
        getLogger().info(fields, 'in-process OGG/Opus encode declined; using ffmpeg');
      else getLogger().warn(fields, 'in-process OGG/Opus encode failed; using ffmpeg');
    }
  }
  const args = [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'error',
    '-f',
    'f32le',
    '-ar',
    String(pcm.sampleRate),
    '-ac',
    '1',
    '-i',
    'pipe:0',
    ...codecArgs(format, pcm.sampleRate, kbps),
  ];
  const input = float32ToLeBytes(pcm.samples);
  const { signal } = opts;
  if (format === 'ogg')
    return checked(await runAudioEngine('ffmpeg', [...args, 'pipe:1'], { input, signal }), format);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'june-encode-'));
  try {
    const file = path.join(dir, 'out.mp3');
    const result = await runAudioEngine('ffmpeg', [...args, `file:${file}`], { input, signal });
    const stdout = result.exitCode === 0 ? await readFile(file) : Buffer.alloc(0);
    return checked({ ...result, stdout }, format);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The encoded bytes, or a typed error carrying ffmpeg's complaint. */
function checked(result: EngineRunResult, format: EncodeFormat): Buffer {
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
