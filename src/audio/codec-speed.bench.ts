/**
 * Decode/encode speed in × real time for a ~10 s spoken clip.
 * Run: npx tsx src/audio/codec-speed.bench.ts [runs]
 * Kept out of the test suite on purpose: timings depend on the machine and its load.
 */
import { pino } from 'pino';
import { decodeAudio } from './decode.js';
import { encodeAudio, type EncodeFormat } from './encode.js';
import { FixtureDir, TEN_SECOND_TEXT } from './test-fixtures.js';
import { detectSpeech } from './vad.js';
import { wavToPcm } from './wav.js';

const runs = Number(process.argv[2] ?? 15);

async function medianMs(fn: () => Promise<unknown> | unknown): Promise<number> {
  await fn(); // warm-up: loads ffmpeg's shared libraries, or compiles the Opus WASM module
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const fx = await FixtureDir.create();
try {
  fx.speak('speech.wav', TEN_SECOND_TEXT);
  fx.convert('speech.wav', 'voice.ogg', ['-c:a', 'libopus', '-b:a', '24k', '-application', 'voip']);
  fx.convert('speech.wav', 'speech.mp3', ['-c:a', 'libmp3lame', '-b:a', '64k']);
  fx.convert('speech.wav', 'moov-at-end.m4a', ['-c:a', 'aac', '-b:a', '64k']);
  const limits = { maxBytes: 20 * 1024 * 1024, maxSeconds: 600, logger: pino({ level: 'silent' }) };
  const rows: string[] = [];
  const report = (label: string, audioSec: number, ms: number) =>
    rows.push(
      `${label.padEnd(46)} ${ms.toFixed(1).padStart(7)} ms   ${(audioSec / (ms / 1000)).toFixed(0).padStart(5)}× real time`,
    );

  let pcm16k = wavToPcm(await fx.read('speech.wav'));
  const ffmpegOnly = { engine: 'ffmpeg' } as const;
  for (const name of ['voice.ogg', 'speech.mp3', 'moov-at-end.m4a', 'speech.wav']) {
    const input = await fx.read(name);
    const decoded = await decodeAudio(input, limits);
    if (name === 'voice.ogg') pcm16k = decoded.pcm;
    const label = name === 'voice.ogg' ? 'in-process' : 'ffmpeg';
    report(
      `decode ${name} → 16 kHz PCM (${label})`,
      decoded.durationSec,
      await medianMs(() => decodeAudio(input, limits)),
    );
    if (name === 'voice.ogg') {
      report(
        `decode ${name} → 16 kHz PCM (ffmpeg)`,
        decoded.durationSec,
        await medianMs(() => decodeAudio(input, { ...limits, ...ffmpegOnly })),
      );
    }
  }
  const tts = wavToPcm(await fx.read('speech.wav'));
  const seconds = tts.samples.length / tts.sampleRate;
  for (const format of ['ogg', 'mp3', 'wav'] as EncodeFormat[]) {
    const label = format === 'ogg' ? ' (in-process)' : '';
    report(
      `encode 16 kHz PCM → ${format}${label}`,
      seconds,
      await medianMs(() => encodeAudio(pcm16k, format)),
    );
  }
  report(
    'encode 16 kHz PCM → ogg (ffmpeg)',
    seconds,
    await medianMs(() => encodeAudio(pcm16k, 'ogg', ffmpegOnly)),
  );
  report(
    'encode 22.05 kHz TTS PCM → ogg (in-process)',
    seconds,
    await medianMs(() => encodeAudio(tts, 'ogg')),
  );
  report(
    'encode 22.05 kHz TTS PCM → ogg (ffmpeg)',
    seconds,
    await medianMs(() => encodeAudio(tts, 'ogg', ffmpegOnly)),
  );
  report('detectSpeech (16 kHz)', seconds, await medianMs(() => detectSpeech(pcm16k)));
  console.log(
    `clip: ${seconds.toFixed(2)} s of espeak-ng speech; median of ${runs} runs\n${rows.join('\n')}`,
  );
} finally {
  await fx.remove();
}
