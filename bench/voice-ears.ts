/**
 * bench:voice, the ears: the speech gate's false accepts and false rejects (Silero VAD v6 and the energy
 * gate) on the speech clips in ../shared/data/speech plus generated non-speech, and the real-time factor
 * of each STT engine that can run here: pocketsphinx, whisper.cpp and sherpa-onnx SenseVoice on tiny
 * random-weight models (their speed says what the engine path costs, not what a real model costs).
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PcmAudio } from '../src/audio/pcm-audio.js';
import { detectSpeech } from '../src/audio/vad.js';
import { SileroVad } from '../src/audio/vad-silero.js';
import { nonSpeechClips } from '../src/audio/vad-fixtures.js';
import { resampleWithFfmpeg } from '../src/audio/test-fixtures.js';
import type { SpeechToText } from '../src/providers/types.js';
import { PocketsphinxSpeechToText } from '../src/providers/stt/pocketsphinx.js';
import { SherpaSpeechToText } from '../src/providers/stt/sherpa-stt.js';
import { WhisperSpeechToText } from '../src/providers/stt/whisper.js';
import { writeTinySenseVoice } from '../src/providers/testing/tiny-stt-models.js';
import { defaultWhisperVocabPath, writeTinyWhisperModel } from '../test/helpers/tiny-whisper-model.js';

const shared = path.resolve(import.meta.dirname, '../../shared/data');

export interface GateScore {
  speechClips: number;
  falseRejects: string[];
  nonSpeechClips: number;
  falseAccepts: string[];
}

export interface EarsBench {
  vad: { silero?: GateScore; energy: GateScore; sileroMsPerAudioSec?: number };
  stt: Array<{ engine: string; audioSec: number; rtf: number }>;
  notes: string[];
}

function wavs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? wavs(path.join(dir, e.name)) : e.name.endsWith('.wav') ? [path.join(dir, e.name)] : [],
  );
}

async function score(
  speech: Array<[string, PcmAudio]>,
  other: Array<[string, PcmAudio]>,
  isSpeech: (pcm: PcmAudio) => Promise<boolean>,
): Promise<GateScore> {
  const falseRejects: string[] = [];
  const falseAccepts: string[] = [];
  for (const [name, pcm] of speech) if (!(await isSpeech(pcm))) falseRejects.push(name);
  for (const [name, pcm] of other) if (await isSpeech(pcm)) falseAccepts.push(name);
  return { speechClips: speech.length, falseRejects, nonSpeechClips: other.length, falseAccepts };
}

async function rtf(stt: SpeechToText, audio: PcmAudio, runs = 3): Promise<number> {
  await stt.load();
  await stt.transcribe(audio); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await stt.transcribe(audio);
  const sec = (performance.now() - t0) / 1000 / runs;
  return sec / (audio.samples.length / audio.sampleRate);
}

export async function runEarsBench(): Promise<EarsBench> {
  const notes: string[] = [];
  const speech = wavs(path.join(shared, 'speech')).map(
    (f) =>
      [path.relative(path.join(shared, 'speech'), f), resampleWithFfmpeg(f, 16_000)] as [string, PcmAudio],
  );
  const other = nonSpeechClips().map((c) => [c.name, c.pcm] as [string, PcmAudio]);
  const energy = await score(speech, other, (pcm) => Promise.resolve(detectSpeech(pcm).hasSpeech));
  const vad: EarsBench['vad'] = { energy };
  const model = path.join(shared, 'vad/silero_vad_v6.onnx');
  if (existsSync(model)) {
    const silero = await SileroVad.load(model);
    vad.silero = await score(speech, other, async (pcm) => (await silero.detect(pcm)).hasSpeech);
    const all = [...speech, ...other].map(([, p]) => p);
    const t0 = performance.now();
    for (const p of all) await silero.detect(p);
    const audioSec = all.reduce((s, p) => s + p.samples.length / p.sampleRate, 0);
    vad.sileroMsPerAudioSec = (performance.now() - t0) / audioSec;
  } else notes.push('Silero VAD not measured: ../shared/data/vad/silero_vad_v6.onnx is missing');

  const stt: EarsBench['stt'] = [];
  const jfk = speech.find(([n]) => n.endsWith('jfk.wav'))?.[1];
  if (!jfk) {
    notes.push('STT real-time factors not measured: the JFK clip is missing');
    return { vad, stt, notes };
  }
  const audioSec = jfk.samples.length / 16_000;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'june-ears-bench-'));
  try {
    const engines: Array<[string, () => Promise<SpeechToText>]> = [
      ['pocketsphinx (en-us)', () => Promise.resolve(new PocketsphinxSpeechToText())],
      [
        'sherpa-onnx SenseVoice, tiny random-weight model (8 layers of 560)',
        async () =>
          new SherpaSpeechToText('sensevoice', {
            files: { engine: 'sensevoice', ...(await writeTinySenseVoice(path.join(dir, 'sv'))) },
          }),
      ],
    ];
    if (existsSync(defaultWhisperVocabPath))
      engines.push([
        'whisper.cpp, tiny random-weight model',
        async () => {
          const file = path.join(dir, 'tiny-whisper.bin');
          await writeTinyWhisperModel(file);
          return new WhisperSpeechToText({ modelPath: file, language: 'en' });
        },
      ]);
    for (const [engine, make] of engines) {
      const s = await make();
      try {
        stt.push({ engine, audioSec, rtf: await rtf(s, jfk) });
      } catch (err) {
        notes.push(`${engine}: not measured (${(err as Error).message})`);
      } finally {
        await s.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { vad, stt, notes };
}

export function earsMarkdown(b: EarsBench): string {
  const row = (name: string, g: GateScore) =>
    `| ${name} | ${g.falseRejects.length}/${g.speechClips}${g.falseRejects.length ? ` (${g.falseRejects.join(', ')})` : ''} | ${g.falseAccepts.length}/${g.nonSpeechClips}${g.falseAccepts.length ? ` (${g.falseAccepts.join(', ')})` : ''} |`;
  return [
    '## Speech gate: false rejects and false accepts',
    '',
    'Speech: every clip in ../shared/data/speech. Non-speech, generated: tones (steady, a beep after silence, a sweep), mains hum, white/pink/brown noise (steady and bursts after silence), clicks, music-like chords.',
    '',
    '| gate | false rejects (speech) | false accepts (non-speech) |',
    '|---|---|---|',
    ...(b.vad.silero ? [row('Silero VAD v6 (onnxruntime-node)', b.vad.silero)] : []),
    row('energy gate (fallback)', b.vad.energy),
    '',
    ...(b.vad.sileroMsPerAudioSec !== undefined
      ? [`Silero VAD cost: ${b.vad.sileroMsPerAudioSec.toFixed(2)} ms per second of audio.`, '']
      : []),
    '## STT real-time factor (JFK clip; lower is faster)',
    '',
    '| engine | audio (s) | RTF |',
    '|---|---:|---:|',
    ...b.stt.map((s) => `| ${s.engine} | ${s.audioSec.toFixed(1)} | ${s.rtf.toFixed(3)} |`),
    '',
    'Tiny random-weight models measure the engine path (features, runtime, decoding), not a real model: published figures for real models are in docs/voices.md.',
    ...b.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}
