/**
 * Builds real audio for tests: espeak-ng speech encoded by ffmpeg, the way a Telegram or Discord client
 * would send it (OGG/Opus, 48 kHz mono voice note).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function makeTempDir(prefix = 'june-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Speaks `text` with espeak-ng and returns it as an OGG/Opus voice note. */
export async function spokenVoiceNote(dir: string, text: string, name = 'speech'): Promise<Buffer> {
  const wav = path.join(dir, `${name}.wav`);
  await run('espeak-ng', ['-v', 'en-us', '-s', '140', '-w', wav, text]);
  return voiceNoteFromFile(wav, path.join(dir, `${name}.ogg`));
}

/** Encodes any audio file as an OGG/Opus voice note (48 kHz mono, 32 kbps, VoIP) at `ogg`. */
export async function voiceNoteFromFile(input: string, ogg: string): Promise<Buffer> {
  await run('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    '-i',
    input,
    '-ac',
    '1',
    '-ar',
    '48000',
    '-c:a',
    'libopus',
    '-b:a',
    '32k',
    '-application',
    'voip',
    ogg,
  ]);
  return fs.readFile(ogg);
}

/** An OGG/Opus file holding only digital silence. */
export async function silentVoiceNote(dir: string, seconds = 2): Promise<Buffer> {
  const ogg = path.join(dir, 'silence.ogg');
  await run('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `anullsrc=r=48000:cl=mono`,
    '-t',
    String(seconds),
    '-c:a',
    'libopus',
    ogg,
  ]);
  return fs.readFile(ogg);
}

/** ffprobe's view of an audio buffer: codec, rate, channels, container. */
export async function ffprobeBuffer(
  dir: string,
  data: Buffer,
  name: string,
): Promise<{ codec: string; sampleRate: number; channels: number; format: string; duration: number }> {
  const file = path.join(dir, name);
  await fs.writeFile(file, data);
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_name,sample_rate,channels:format=format_name,duration',
    '-of',
    'json',
    file,
  ]);
  const j = JSON.parse(stdout) as {
    streams: Array<{ codec_name: string; sample_rate: string; channels: number }>;
    format: { format_name: string; duration: string };
  };
  const s = j.streams[0]!;
  return {
    codec: s.codec_name,
    sampleRate: Number(s.sample_rate),
    channels: s.channels,
    format: j.format.format_name,
    duration: Number(j.format.duration),
  };
}
