/**
 * Decode/encode speed in × real time for a ~10 s spoken clip, June's in-process OGG/Opus path beside
 * ffmpeg's. Run: npx tsx src/audio/codec-speed.bench.ts [runs]
 * Kept out of the test suite on purpose: timings depend on the machine and its load. The cases run
 * round-robin (one run of each, then the next round) so that load drifting during the run shifts
 * every case alike instead of favouring whichever ran in a quiet moment.
 */
import { pino } from 'pino';
import { decodeAudio } from './decode.js';
import { encodeAudio } from './encode.js';
import { FixtureDir, TEN_SECOND_TEXT } from './test-fixtures.js';
import { detectSpeech } from './vad.js';
import { wavToPcm } from './wav.js';

const runs = Number(process.argv[2] ?? 15);

interface Case {
  label: string;
  audioSec: number;
  run: () => Promise<unknown> | unknown;
  times: number[];
}

const fx = await FixtureDir.create();
try {
  fx.speak('speech.wav', TEN_SECOND_TEXT);
  fx.convert('speech.wav', 'voice.ogg', ['-c:a', 'libopus', '-b:a', '24k', '-application', 'voip']);
  fx.convert('speech.wav', 'speech.mp3', ['-c:a', 'libmp3lame', '-b:a', '64k']);
  fx.convert('speech.wav', 'moov-at-end.m4a', ['-c:a', 'aac', '-b:a', '64k']);
  const limits = { maxBytes: 20 * 1024 * 1024, maxSeconds: 600, logger: pino({ level: 'silent' }) };
  const ffmpegOnly = { engine: 'ffmpeg' } as const;
  const tts = wavToPcm(await fx.read('speech.wav'));
  const seconds = tts.samples.length / tts.sampleRate;
  const voice = await fx.read('voice.ogg');
  const pcm16k = (await decodeAudio(voice, limits)).pcm;

  const cases: Case[] = [];
  const add = (label: string, audioSec: number, run: Case['run']) =>
    cases.push({ label, audioSec, run, times: [] });
  add('decode voice.ogg → 16 kHz PCM (in-process)', seconds, () => decodeAudio(voice, limits));
  add('decode voice.ogg → 16 kHz PCM (ffmpeg)', seconds, () =>
    decodeAudio(voice, { ...limits, ...ffmpegOnly }),
  );
  for (const name of ['speech.mp3', 'moov-at-end.m4a', 'speech.wav']) {
    const input = await fx.read(name);
    add(`decode ${name} → 16 kHz PCM (ffmpeg)`, seconds, () => decodeAudio(input, limits));
  }
  add('encode 22.05 kHz TTS PCM → ogg (in-process)', seconds, () => encodeAudio(tts, 'ogg'));
  add('encode 22.05 kHz TTS PCM → ogg (ffmpeg)', seconds, () => encodeAudio(tts, 'ogg', ffmpegOnly));
  add('encode 16 kHz PCM → ogg (in-process)', seconds, () => encodeAudio(pcm16k, 'ogg'));
  add('encode 16 kHz PCM → ogg (ffmpeg)', seconds, () => encodeAudio(pcm16k, 'ogg', ffmpegOnly));
  add('encode 16 kHz PCM → mp3', seconds, () => encodeAudio(pcm16k, 'mp3'));
  add('encode 16 kHz PCM → wav', seconds, () => encodeAudio(pcm16k, 'wav'));
  add('detectSpeech (16 kHz)', seconds, () => detectSpeech(pcm16k));

  // Warm-up: loads ffmpeg's shared libraries, compiles the Opus WASM module, builds filter tables.
  for (const c of cases) await c.run();
  for (let i = 0; i < runs; i++) {
    for (const c of cases) {
      const t = performance.now();
      await c.run();
      c.times.push(performance.now() - t);
    }
  }
  const rows = cases.map((c) => {
    const ms = c.times.sort((a, b) => a - b)[Math.floor(c.times.length / 2)]!;
    const x = c.audioSec / (ms / 1000);
    return `${c.label.padEnd(46)} ${ms.toFixed(1).padStart(7)} ms   ${x.toFixed(0).padStart(5)}× real time`;
  });
  console.log(
    `clip: ${seconds.toFixed(2)} s of espeak-ng speech; median of ${runs} runs\n${rows.join('\n')}`,
  );
} finally {
  await fx.remove();
}
