/**
 * decodeAudio: whatever a user sends (voice notes, browser recordings, files) → 16 kHz mono float PCM.
 *
 * Order of checks, cheapest first: size limits (nothing spawned), container headers (exact length and
 * visible truncation, nothing spawned), then the decode itself. OGG/Opus — the voice-note format of
 * the chat apps, so most input — is decoded in-process (opus-decode.ts), saving the ~60 ms an ffmpeg
 * start costs; everything else, and any OGG/Opus that path declines, goes through one ffmpeg run over
 * stdin/stdout whose output is capped with `-t` so an over-long file is never decoded in full.
 *
 * Truncation policy: a file that is visibly cut short is `audio_corrupt`, not accepted as a partial
 * clip. Answering the first 40 % of a question is worse than asking for it again, and the user can
 * resend. "Visibly" means: an OGG stream without its end-of-stream page (also catches a last page cut
 * mid-way), a WAV whose data chunk is shorter than its header says, or ffmpeg logging any error while
 * demuxing/decoding (truncated MP3/M4A/FLAC/WebM). Live-recorded streams that carry no length at all
 * (browser WebM with unknown-size clusters, WAV from stdout) cannot be told apart from complete ones
 * and are accepted.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PcmAudio } from './pcm-audio.js';
import { AudioError, JuneError } from '../util/errors.js';
import { stageSignal } from '../util/abort.js';
import { getLogger, type Logger } from '../observability/logger.js';
import { inspectContainer, type ContainerFacts } from './container-sniff.js';
import { audioErrors, containerName, parseFfmpegStderr, type FfmpegReport } from './decode-errors.js';
import { runAudioEngine } from './ffmpeg-process.js';
import { decodeOggOpusInProcess } from './opus-decode.js';
import { leBytesToFloat32, STT_SAMPLE_RATE } from './pcm.js';

export interface DecodeOptions {
  /** Larger inputs are refused before anything is spawned (config: audioMaxBytes). */
  maxBytes: number;
  /** Longer audio is refused without decoding it in full (config: audioMaxSeconds). */
  maxSeconds: number;
  signal?: AbortSignal;
  /** Stage time limit (config: decodeTimeoutMs); 0 or undefined = none. */
  timeoutMs?: number;
  logger?: Logger;
  /** 'auto' (default): in-process for OGG/Opus, ffmpeg otherwise. 'ffmpeg': always ffmpeg. */
  engine?: 'auto' | 'ffmpeg';
}

export interface DecodedAudio {
  /** 16 kHz mono. */
  pcm: PcmAudio;
  durationSec: number;
  /** Detected "container/codec", e.g. "ogg/opus", "mp4/aac", "webm/opus", "wav/pcm_s16le". */
  format: string;
  inputBytes: number;
}

/** Prefix of the private temp directories used for inputs that must be seekable. */
export const DECODE_TEMP_PREFIX = 'june-decode-';

/** Where ffmpeg reads from: stdin, or a temp file for inputs that need seeking. */
interface InputSource {
  arg: string;
  stdin: Buffer | undefined;
}

export async function decodeAudio(input: Buffer, opts: DecodeOptions): Promise<DecodedAudio> {
  const log = opts.logger ?? getLogger();
  const startedAt = performance.now();
  let facts: ContainerFacts | undefined;
  try {
    if (input.length === 0) throw audioErrors.empty();
    if (input.length > opts.maxBytes) throw audioErrors.tooLarge(input.length, opts.maxBytes);
    facts = inspectContainer(input);
    if (facts.truncated)
      throw audioErrors.corrupt(`${facts.container} data ends before the container says it should`);
    if (facts.durationSec !== undefined && facts.durationSec > opts.maxSeconds) {
      throw audioErrors.tooLong(facts.durationSec, opts.maxSeconds);
    }
    const stage = stageSignal('decode', opts.timeoutMs, opts.signal);
    try {
      let engine = 'ffmpeg';
      let decoded: DecodedAudio | undefined;
      if (opts.engine !== 'ffmpeg' && facts.container === 'ogg' && facts.codec === 'opus') {
        decoded = await decodeInProcess(input, opts.maxSeconds, stage.signal, log);
        if (decoded) engine = 'in-process';
      }
      decoded ??= await decodeWithFfmpeg(input, facts, opts.maxSeconds, stage.signal);
      log.debug(
        {
          format: decoded.format,
          engine,
          inputBytes: input.length,
          durationSec: decoded.durationSec,
          ms: Math.round(performance.now() - startedAt),
        },
        'audio decoded',
      );
      return decoded;
    } finally {
      stage.dispose();
    }
  } catch (err) {
    const code = err instanceof JuneError ? err.code : 'internal';
    const fields = {
      code,
      inputBytes: input.length,
      container: facts?.container,
      err: err instanceof Error ? err.message : String(err),
    };
    if (err instanceof AudioError) log.warn(fields, 'audio input rejected');
    else log.info(fields, 'audio decode stopped');
    throw err;
  }
}

/**
 * OGG/Opus without ffmpeg. Undefined when the in-process path declines the file for a reason that is
 * not the file's fault (a layout it does not handle, the codec failing to load, an unexpected error):
 * the caller then decodes with ffmpeg, which also judges the file independently.
 */
async function decodeInProcess(
  input: Buffer,
  maxSeconds: number,
  signal: AbortSignal,
  log: Logger,
): Promise<DecodedAudio | undefined> {
  try {
    const samples = await decodeOggOpusInProcess(input, maxSeconds, signal);
    return {
      pcm: { sampleRate: STT_SAMPLE_RATE, samples },
      durationSec: samples.length / STT_SAMPLE_RATE,
      format: 'ogg/opus',
      inputBytes: input.length,
    };
  } catch (err) {
    if (err instanceof AudioError || signal.aborted) throw err;
    log.info(
      { inputBytes: input.length, reason: err instanceof Error ? err.message : String(err) },
      'in-process OGG/Opus decode declined; using ffmpeg',
    );
    return undefined;
  }
}

async function decodeWithFfmpeg(
  input: Buffer,
  facts: ContainerFacts,
  maxSeconds: number,
  signal: AbortSignal,
): Promise<DecodedAudio> {
  let viaPipe = !facts.needsSeekableInput;
  let attempt = await withSource(input, viaPipe, (src) => runDecode(src, maxSeconds, signal));
  // Header walking can miss an MP4 whose moov sits after the media data; ffmpeg says "partial file"
  // or "moov atom not found" on a pipe. Retry from a seekable file before calling it damaged.
  if (
    viaPipe &&
    facts.container === 'mp4' &&
    attempt.report.errors.some((e) => /partial file|moov atom not found/.test(e))
  ) {
    viaPipe = false;
    attempt = await withSource(input, viaPipe, (src) => runDecode(src, maxSeconds, signal));
  }
  const { report, samples } = attempt;
  throwForReport(report, facts, samples.length);

  const durationSec = samples.length / STT_SAMPLE_RATE;
  if (durationSec > maxSeconds) {
    // Output was capped just past the limit; find the real length by demuxing without decoding.
    const realSec = await withSource(input, viaPipe, (src) => measureDurationSec(src, signal));
    throw audioErrors.tooLong(realSec, maxSeconds);
  }
  const container = facts.container ?? (report.demuxer ? containerName(report.demuxer) : 'unknown');
  return {
    pcm: { sampleRate: STT_SAMPLE_RATE, samples },
    durationSec,
    format: `${container}/${report.audioCodec ?? facts.codec ?? 'unknown'}`,
    inputBytes: input.length,
  };
}

/** Runs `fn` with the input on stdin, or written to a private temp file that is always removed. */
async function withSource<T>(
  input: Buffer,
  viaPipe: boolean,
  fn: (src: InputSource) => Promise<T>,
): Promise<T> {
  if (viaPipe) return fn({ arg: 'pipe:0', stdin: input });
  const dir = await mkdtemp(path.join(os.tmpdir(), DECODE_TEMP_PREFIX));
  try {
    const file = path.join(dir, 'input');
    await writeFile(file, input, { mode: 0o600 });
    return await fn({ arg: `file:${file}`, stdin: undefined });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function runDecode(
  src: InputSource,
  maxSeconds: number,
  signal: AbortSignal,
): Promise<{ report: FfmpegReport; samples: Float32Array }> {
  const args = [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'level+info',
    '-i',
    src.arg,
    // No '?': an input without audio must fail loudly so it can be reported as such.
    '-map',
    '0:a:0',
    // One second of headroom tells "exactly at the limit" from "over it" without decoding the rest.
    '-t',
    String(maxSeconds + 1),
    '-ac',
    '1',
    '-ar',
    String(STT_SAMPLE_RATE),
    '-f',
    'f32le',
    'pipe:1',
  ];
  const result = await runAudioEngine('ffmpeg', args, { input: src.stdin, signal });
  const report = parseFfmpegStderr(result.stderr);
  if (result.exitCode !== 0 && report.errors.length === 0) {
    report.errors.push(`ffmpeg exited with status ${result.exitCode}`);
  }
  return { report, samples: leBytesToFloat32(result.stdout) };
}

/** Maps what ffmpeg said to the most specific AudioError; returns when the decode is clean. */
function throwForReport(report: FfmpegReport, facts: ContainerFacts, sampleCount: number): void {
  const detail = `ffmpeg: ${report.errors.slice(0, 3).join(' | ') || 'no output'}`;
  const recognisedAudio =
    facts.container !== undefined || (report.audioCodec !== undefined && !report.lowScoreGuess);
  if (report.errors.some((e) => /matches no streams/.test(e))) {
    // ffmpeg understood the file but found no audio track: a picture is "not audio", a silent video
    // (a screen recording sent by mistake) is told that its sound track is missing.
    const isImage = report.demuxer !== undefined && /_pipe$|^image2/.test(report.demuxer);
    throw report.hasVideo && !isImage ? audioErrors.noAudioStream(detail) : audioErrors.notAudio(detail);
  }
  if (
    report.errors.some((e) => /Decoder \(codec .*\) not found|Unsupported codec|unsupported codec/i.test(e))
  ) {
    throw audioErrors.unsupported(detail);
  }
  if (!recognisedAudio) throw audioErrors.notAudio(detail);
  if (report.errors.length > 0) throw audioErrors.corrupt(detail);
  if (sampleCount === 0) throw audioErrors.corrupt('ffmpeg produced no samples');
}

/** Length of the first audio stream, by copying packets to the null muxer (demux only, no decode). */
async function measureDurationSec(src: InputSource, signal: AbortSignal): Promise<number | undefined> {
  const args = [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'error',
    '-i',
    src.arg,
    '-map',
    '0:a:0',
    '-c',
    'copy',
    '-f',
    'null',
    '-',
    '-progress',
    'pipe:1',
  ];
  const result = await runAudioEngine('ffmpeg', args, { input: src.stdin, signal });
  const matches = [...result.stdout.toString('utf8').matchAll(/^out_time_us=(\d+)$/gm)];
  const last = matches.at(-1)?.[1];
  return last ? Number(last) / 1e6 : undefined;
}
