/**
 * Turning ffmpeg's stderr and June's own checks into AudioErrors whose userMessage reads well in a chat.
 *
 * ffmpeg runs with `-loglevel level+info`, which prefixes every line with its level ("[error] …"), so
 * errors can be told from chatter without guessing from wording.
 */
import { AudioError } from '../util/errors.js';

export interface FfmpegReport {
  /** ffmpeg's demuxer name from "Input #0, <name>, from …", when it recognised the input. */
  demuxer: string | undefined;
  /** Codec of the first input audio stream. */
  audioCodec: string | undefined;
  /** The input has a video or image stream. */
  hasVideo: boolean;
  /** Messages logged at error, fatal or panic level, in order. */
  errors: string[];
  /** ffmpeg warned that it guessed the format with a low score (typical of random bytes). */
  lowScoreGuess: boolean;
}

const LEVEL_LINE =
  /^(?:\[[^\]]*@ 0x[0-9a-f]+\] )?\[(panic|fatal|error|warning|info|verbose|debug|trace)\] ?(.*)$/;

export function parseFfmpegStderr(stderr: string): FfmpegReport {
  const report: FfmpegReport = {
    demuxer: undefined,
    audioCodec: undefined,
    hasVideo: false,
    errors: [],
    lowScoreGuess: false,
  };
  let inInput = false;
  for (const line of stderr.split(/\r?\n/)) {
    const m = LEVEL_LINE.exec(line);
    if (!m) continue;
    const level = m[1] ?? '';
    const text = (m[2] ?? '').trim();
    if (level === 'panic' || level === 'fatal' || level === 'error') {
      report.errors.push(text);
      continue;
    }
    if (level === 'warning' && text.includes('detected only with low score')) report.lowScoreGuess = true;
    const input = /^Input #0, (.+), from /.exec(text);
    if (input) {
      report.demuxer = input[1];
      inInput = true;
      continue;
    }
    if (/^(Output #0|Stream mapping:)/.test(text)) inInput = false;
    if (!inInput) continue;
    const audio = /^Stream #0:\d+\S*: Audio: ([\w-]+)/.exec(text);
    if (audio && !report.audioCodec) report.audioCodec = audio[1];
    if (/^Stream #0:\d+\S*: Video: /.test(text)) report.hasVideo = true;
  }
  return report;
}

/** Short names for ffmpeg's demuxer lists ("mov,mp4,m4a,3gp,3g2,mj2" → "mp4"). */
export function containerName(demuxer: string): string {
  if (demuxer.startsWith('mov,mp4')) return 'mp4';
  if (demuxer === 'matroska,webm') return 'webm';
  return demuxer.split(',')[0] ?? demuxer;
}

// ---------------------------------------------------------------- wording

/** "45 s", "2 min", "1 min 30 s", "1 h 5 min": how long a limit is. */
export function formatSeconds(totalSec: number): string {
  const s = Math.round(totalSec);
  if (s < 60) return `${s} s`;
  if (s >= 3600) {
    const h = Math.floor(s / 3600);
    const min = Math.round((s % 3600) / 60);
    return min ? `${h} h ${min} min` : `${h} h`;
  }
  const min = Math.floor(s / 60);
  return s % 60 ? `${min} min ${s % 60} s` : `${min} min`;
}

/**
 * How long an over-limit file is, rounded so it never reads as equal to the limit: whole minutes for
 * long files ("12 min"), seconds when the overshoot is small ("10 min 4 s").
 */
export function describeLength(durationSec: number, limitSec: number): string {
  const s = Math.ceil(durationSec);
  const roundedMin = Math.round(s / 60);
  if (s >= 120 && roundedMin * 60 > limitSec) return formatSeconds(roundedMin * 60);
  return formatSeconds(s);
}

/** "20 MB", "1.5 MB", "800 KB". */
export function formatBytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  if (mb >= 1) return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

const ACCEPTED = 'a voice message or an audio file (OGG, MP3, M4A, WAV, FLAC or WebM)';

export const audioErrors = {
  empty: () =>
    new AudioError(
      'audio_empty',
      'audio input is 0 bytes',
      'That voice message is empty, so there is nothing for me to listen to. Please record it again.',
    ),
  tooLarge: (bytes: number, maxBytes: number) =>
    new AudioError(
      'audio_too_large',
      `audio input is ${bytes} bytes; limit ${maxBytes}`,
      `That audio file is too large (${formatBytes(bytes)}); the limit is ${formatBytes(maxBytes)}.`,
    ),
  tooLong: (durationSec: number | undefined, maxSeconds: number) =>
    new AudioError(
      'audio_too_long',
      `audio is ${durationSec === undefined ? 'longer than the limit' : `${durationSec.toFixed(1)} s`}; limit ${maxSeconds} s`,
      durationSec === undefined
        ? `That voice message is longer than the ${formatSeconds(maxSeconds)} limit.`
        : `That voice message is too long (${describeLength(durationSec, maxSeconds)}); the limit is ${formatSeconds(maxSeconds)}.`,
    ),
  notAudio: (detail: string) =>
    new AudioError('audio_not_audio', detail, `That file does not look like audio. Please send ${ACCEPTED}.`),
  noAudioStream: (detail: string) =>
    new AudioError(
      'audio_not_audio',
      detail,
      `That file has no sound track in it, so there is nothing for me to listen to. Please send ${ACCEPTED}.`,
    ),
  corrupt: (detail: string) =>
    new AudioError(
      'audio_corrupt',
      detail,
      'That audio file seems to be damaged or cut off, so I could not listen to it. Please try sending it again.',
    ),
  unsupported: (detail: string) =>
    new AudioError(
      'audio_unsupported',
      detail,
      `That audio uses an encoding I cannot decode. Please send ${ACCEPTED}.`,
    ),
};
