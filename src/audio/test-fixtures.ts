/**
 * Builds real audio fixtures for the audio tests with the real engines (espeak-ng, ffmpeg), in a fresh
 * temp directory. Test-only; nothing in June's runtime imports this file.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PcmAudio } from './pcm-audio.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Public speech clips shared by the team, or undefined (tests then skip with a message). */
export function speechDataDir(): string | undefined {
  const dir = path.resolve(repoRoot, '../shared/data/speech');
  return existsSync(dir) ? dir : undefined;
}

export const SPEECH_DATA_MISSING =
  'shared speech data (../shared/data/speech) is missing; skipping real-clip tests';

/** Runs a command synchronously and returns stdout; throws with stderr on failure. */
export function run(cmd: string, args: string[], input?: Buffer): Buffer {
  return execFileSync(cmd, args, { input, maxBuffer: 512 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function ffmpeg(...args: string[]): void {
  run('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args]);
}

export interface StreamInfo {
  formatName: string;
  codec: string;
  sampleRate: number;
  channels: number;
  durationSec: number;
}

/** ffprobe's view of a file, as an independent check on what June wrote or read. */
export function ffprobeFile(file: string): StreamInfo {
  const out = run('ffprobe', ['-v', 'error', '-of', 'json', '-show_streams', '-show_format', file]).toString(
    'utf8',
  );
  const json = JSON.parse(out) as {
    streams: { codec_type: string; codec_name: string; sample_rate: string; channels: number }[];
    format: { format_name: string; duration?: string };
  };
  const audio = json.streams.find((s) => s.codec_type === 'audio');
  if (!audio) throw new Error(`ffprobe: no audio stream in ${file}`);
  return {
    formatName: json.format.format_name,
    codec: audio.codec_name,
    sampleRate: Number(audio.sample_rate),
    channels: audio.channels,
    durationSec: Number(json.format.duration),
  };
}

export class FixtureDir {
  private constructor(readonly dir: string) {}

  static async create(): Promise<FixtureDir> {
    return new FixtureDir(await mkdtemp(path.join(os.tmpdir(), 'june-audio-test-')));
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  read(name: string): Promise<Buffer> {
    return readFile(this.path(name));
  }

  /** Speaks `text` with espeak-ng into `name` (WAV, 22050 Hz mono). */
  speak(name: string, text: string): string {
    run('espeak-ng', ['-w', this.path(name), text]);
    return this.path(name);
  }

  /** Converts `from` into `name` with the given ffmpeg output arguments. */
  convert(from: string, name: string, outputArgs: string[]): string {
    ffmpeg('-i', this.path(from), ...outputArgs, this.path(name));
    return this.path(name);
  }

  /** Runs ffmpeg with `args` (inputs, mapping, output options) writing `name`. */
  ffmpegTo(name: string, args: string[]): string {
    ffmpeg(...args, this.path(name));
    return this.path(name);
  }

  /** Generates `name` from an ffmpeg lavfi source graph, e.g. "anoisesrc=color=pink:amplitude=0.05". */
  lavfi(name: string, graph: string, outputArgs: string[] = []): string {
    ffmpeg('-f', 'lavfi', '-i', graph, ...outputArgs, this.path(name));
    return this.path(name);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A ~10 s sentence: long enough that an MP4 with its moov at the end defeats a pipe. */
export const TEN_SECOND_TEXT =
  'June is a voice assistant that runs on your own computer. You can send it a voice note from your ' +
  'phone, and it answers with a voice note of its own. This sentence makes the clip about ten seconds long.';

/** Deterministic noise bytes (SHA-256 in counter mode), so "random input" tests cannot flake. */
export function pseudoRandomBytes(length: number, seed: string): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < length; i++) {
    blocks.push(createHash('sha256').update(`${seed}:${i}`).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** Runs `fn` with PATH pointing nowhere, so spawning ffmpeg fails as it would if it were not installed. */
export async function withoutEngines<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent-june-bin';
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

/**
 * Runs `fn` with an `ffmpeg` first on PATH that records its arguments and then runs the real ffmpeg, and
 * returns the argument lists of every run. Lets a test check what work was asked of ffmpeg (how much it
 * decoded) instead of how long that took, which depends on the machine's load.
 */
export async function withFfmpegSpy<T>(fn: () => Promise<T>): Promise<{ result: T; runs: string[][] }> {
  const real = run('sh', ['-c', 'command -v ffmpeg']).toString('utf8').trim();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'june-ffmpeg-spy-'));
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    '#!/bin/sh',
    // One file per run, one argument per line ($$ is the run's pid, unique while it runs).
    `printf '%s\\n' "$@" > ${quote(dir)}/run-$$.args`,
    `exec ${quote(real)} "$@"`,
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'ffmpeg'), script, { mode: 0o755 });
  const saved = process.env.PATH;
  process.env.PATH = `${dir}${path.delimiter}${saved ?? ''}`;
  try {
    const result = await fn();
    const files = (await readdir(dir)).filter((f) => f.endsWith('.args'));
    const runs = await Promise.all(
      files.map(async (f) => (await readFile(path.join(dir, f), 'utf8')).split('\n').slice(0, -1)),
    );
    return { result, runs };
  } finally {
    process.env.PATH = saved;
    await rm(dir, { recursive: true, force: true });
  }
}

/** Command names of this process's live child processes. */
export function childCommands(): string[] {
  try {
    return run('ps', ['-o', 'comm=', '--ppid', String(process.pid)])
      .toString('utf8')
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => s && s !== 'ps');
  } catch {
    return []; // ps exits 1 when there are no children
  }
}

/** RMS envelope in dB over 30 ms frames of 16 kHz float samples (for comparing two decodes). */
export function envelopeDb(samples: Float32Array, frame = 480): number[] {
  const out: number[] = [];
  for (let s = 0; s + frame <= samples.length; s += frame) {
    let e = 0;
    for (let i = s; i < s + frame; i++) e += samples[i]! * samples[i]!;
    out.push(10 * Math.log10(e / frame + 1e-12));
  }
  return out;
}

/** Pearson correlation of two equal-purpose series, over their common length. */
export function correlation(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  const mean = (x: number[]) => x.slice(0, n).reduce((s, v) => s + v, 0) / n;
  const ma = mean(a);
  const mb = mean(b);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return num / Math.sqrt(da * db);
}

/**
 * Normalised cross-correlation of two waveforms over their common length, at the shift of `b` within
 * ±maxLag samples that matches best: 1 for identical signals, whatever their level.
 */
export function waveformCorrelation(
  a: Float32Array,
  b: Float32Array,
  maxLag: number,
): { r: number; lag: number } {
  const n = Math.min(a.length, b.length);
  let best = { r: -Infinity, lag: 0 };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let num = 0;
    let ea = 0;
    let eb = 0;
    for (let i = Math.max(0, -lag); i < Math.min(n, n - lag); i++) {
      const x = a[i]!;
      const y = b[i + lag]!;
      num += x * y;
      ea += x * x;
      eb += y * y;
    }
    const r = num / Math.sqrt(ea * eb);
    if (r > best.r) best = { r, lag };
  }
  return best;
}

/** 16 kHz mono float samples of `file`, decoded by the ffmpeg CLI (an oracle independent of June). */
export function referenceSamples(file: string): Float32Array {
  const bytes = run('ffmpeg', [
    '-v',
    'error',
    '-i',
    file,
    '-f',
    'f32le',
    '-ac',
    '1',
    '-ar',
    '16000',
    'pipe:1',
  ]);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** `file` as mono float PCM at `rate`, resampled by the ffmpeg CLI. */
export function resampleWithFfmpeg(file: string, rate: number): PcmAudio {
  const bytes = run('ffmpeg', [
    '-v',
    'error',
    '-i',
    file,
    '-f',
    'f32le',
    '-ac',
    '1',
    '-ar',
    String(rate),
    'pipe:1',
  ]);
  const samples = new Float32Array(bytes.length / 4);
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readFloatLE(i * 4);
  return { sampleRate: rate, samples };
}
