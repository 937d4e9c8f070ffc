/**
 * probeAudio: what is in this buffer, according to ffprobe (container, codec, rate, channels, length)?
 * Reads from stdin, so an MP4 whose moov atom follows its media data may report less; decodeAudio
 * handles that case itself.
 */
import { runAudioEngine } from './ffmpeg-process.js';
import { audioErrors, containerName } from './decode-errors.js';

export interface AudioProbe {
  /** Short container name: "ogg", "mp4", "webm", "mp3", "wav", "flac", … */
  container: string;
  codec: string;
  sampleRate: number;
  channels: number;
  /** Undefined when the container does not record it (streams read from a pipe often do not). */
  durationSec: number | undefined;
}

interface FfprobeJson {
  streams?: {
    codec_type?: string;
    codec_name?: string;
    sample_rate?: string;
    channels?: number;
    duration?: string;
  }[];
  format?: { format_name?: string; duration?: string };
}

export async function probeAudio(buffer: Buffer, signal?: AbortSignal): Promise<AudioProbe> {
  if (buffer.length === 0) throw audioErrors.empty();
  const args = ['-v', 'error', '-of', 'json', '-show_streams', '-show_format', '-i', 'pipe:0'];
  const result = await runAudioEngine('ffprobe', args, { input: buffer, signal });
  let parsed: FfprobeJson = {};
  try {
    parsed = JSON.parse(result.stdout.toString('utf8') || '{}') as FfprobeJson;
  } catch {
    // Falls through to "not audio" below: ffprobe printed nothing usable.
  }
  const audio = parsed.streams?.find((s) => s.codec_type === 'audio');
  if (!audio || !parsed.format?.format_name) {
    throw audioErrors.notAudio(`ffprobe found no audio stream: ${result.stderr.trim().slice(0, 300)}`);
  }
  const duration = Number(audio.duration ?? parsed.format.duration);
  return {
    container: containerName(parsed.format.format_name),
    codec: audio.codec_name ?? 'unknown',
    sampleRate: Number(audio.sample_rate ?? 0),
    channels: audio.channels ?? 0,
    durationSec: Number.isFinite(duration) && duration > 0 ? duration : undefined,
  };
}
