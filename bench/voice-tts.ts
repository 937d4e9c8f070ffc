/**
 * The text-to-speech part of `npm run bench:voice`:
 *  - the real-time factor of each TTS engine that runs here (espeak-ng; sherpa-onnx with the tiny test
 *    voice, which measures the engine's own path — phonemizer, ONNX runtime, thread hand-off — not the
 *    speed of a real Kokoro/Piper voice, whose models cannot be downloaded here);
 *  - the accept latency of the HTTP API (POST /v1/messages → 202) while 20 spoken replies are being
 *    synthesised, with 20 workers so all 20 are in flight at once, and the event loop's delay meanwhile.
 *    Target: p95 ≤ 50 ms.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLogger } from '../src/observability/logger.js';
import { EspeakTextToSpeech } from '../src/providers/tts/espeak.js';
import { SherpaTextToSpeech } from '../src/providers/tts/sherpa-tts.js';
import type { TextToSpeech } from '../src/providers/types.js';
import { writeTinyPiperVoice } from '../src/providers/testing/tiny-tts-models.js';
import { startJune } from '../test/e2e/web-harness.js';
import { percentile } from './machine.js';

const SENTENCES = [
  'The weather today is mild, with a light breeze from the west.',
  'I have added milk, eggs and bread to your shopping list.',
  'Your next meeting starts at half past three in the small conference room.',
  'The train to Edinburgh leaves from platform four in twenty minutes.',
  'Remember to water the plants on the balcony before you go to bed.',
];

export interface TtsRtf {
  engine: string;
  note: string;
  audioSec: number;
  synthSec: number;
  rtf: number;
}

export interface AcceptLatency {
  engine: string;
  spokenReplies: number;
  probes: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  repliesDoneSec: number;
  failed: number;
}

export interface TtsBenchResults {
  rtf: TtsRtf[];
  acceptLatency: AcceptLatency[];
  targetP95Ms: number;
}

async function rtfOf(engine: string, note: string, tts: TextToSpeech, rounds: number): Promise<TtsRtf> {
  await tts.load();
  await tts.synthesize(SENTENCES[0]!); // warm
  let audioSec = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++)
    for (const s of SENTENCES) {
      const pcm = await tts.synthesize(s, { language: 'en' });
      audioSec += pcm.samples.length / pcm.sampleRate;
    }
  const synthSec = (performance.now() - t0) / 1000;
  await tts.close();
  return { engine, note, audioSec, synthSec, rtf: synthSec / audioSec };
}

export async function acceptLatency(
  engine: string,
  overrides: Record<string, unknown>,
  speak = true,
): Promise<AcceptLatency> {
  const TOKEN = 'bench-token-aaaaaaaaaaaaaaaa';
  const REPLIES = 20;
  const june = await startJune({ apiTokens: [TOKEN], workerConcurrency: REPLIES, ...overrides });
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const post = async (body: unknown) => {
    const t0 = performance.now();
    const res = await fetch(`${june.base}/v1/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as { taskId?: string };
    if (res.status !== 202 || !json.taskId) throw new Error(`POST /v1/messages: HTTP ${res.status}`);
    return { ms: performance.now() - t0, taskId: json.taskId };
  };
  try {
    await post({ text: 'warm up', speak: false }); // first request compiles routes and opens the database
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const t0 = performance.now();
    const spoken = await Promise.all(
      Array.from({ length: REPLIES }, (_, i) =>
        post({
          text: `${SENTENCES[i % SENTENCES.length]} Tell me more about it, please.`,
          speak,
          conversation: `bench-${i}`,
        }),
      ),
    );
    const latencies: number[] = [];
    const done = new Set<string>();
    let failed = 0;
    // Probe the accept path every 50 ms until every spoken reply is finished (or 5 minutes pass). The
    // replies' states are read every 10th probe only: those SQLite reads run on the same event loop as the
    // server being measured (read at every probe, they took 0.6 s of it in a 15 s run).
    while (done.size < REPLIES && performance.now() - t0 < 300_000) {
      latencies.push((await post({ text: 'ping', speak: false, conversation: 'probe' })).ms);
      await new Promise((r) => setTimeout(r, 50));
      if (latencies.length % 10 !== 0) continue;
      for (const s of spoken) {
        if (done.has(s.taskId)) continue;
        const state = (await june.queue.get(s.taskId))?.task.state;
        if (state === 'completed' || state === 'dead' || state === 'cancelled') {
          done.add(s.taskId);
          if (state !== 'completed') failed++;
        }
      }
    }
    loop.disable();
    return {
      engine,
      spokenReplies: REPLIES,
      probes: latencies.length,
      p50Ms: percentile(latencies, 50),
      p95Ms: percentile(latencies, 95),
      maxMs: Math.max(...latencies),
      eventLoopDelayP99Ms: loop.percentile(99) / 1e6,
      eventLoopDelayMaxMs: loop.max / 1e6,
      repliesDoneSec: (performance.now() - t0) / 1000,
      failed,
    };
  } finally {
    await june.stop();
  }
}

export async function runTtsBench(): Promise<TtsBenchResults> {
  const logger = createLogger('silent');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'june-bench-tts-'));
  try {
    const voiceDir = path.join(tmp, 'tiny-piper');
    await writeTinyPiperVoice(voiceDir);
    const rtf = [
      await rtfOf('espeak-ng', 'real voice', new EspeakTextToSpeech({ logger }), 2),
      await rtfOf(
        'sherpa-onnx (tiny test voice)',
        'engine path only: the tiny Piper-shaped test model, not a real voice',
        new SherpaTextToSpeech({ voice: { name: 'tiny-piper', dir: voiceDir }, logger }),
        2,
      ),
    ];
    process.stderr.write('tts rtf done\n');
    const acceptLatencyResults = [
      // the same 20 replies as text only: what the rest of the turn (LLM stream, SQLite, SSE) costs
      await acceptLatency('none: the 20 replies as text (baseline)', { tts: 'espeak-ng' }, false),
      await acceptLatency('espeak-ng', { tts: 'espeak-ng' }),
      await acceptLatency('sherpa-onnx (tiny test voice)', { tts: 'sherpa', ttsSherpaModel: voiceDir }),
    ];
    return { rtf, acceptLatency: acceptLatencyResults, targetP95Ms: 50 };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function ttsMarkdown(r: TtsBenchResults): string {
  const f = (n: number) => (n < 10 ? n.toFixed(2) : Math.round(n).toString());
  return [
    '## TTS real-time factor (synthesis time ÷ audio duration; lower is faster)',
    '',
    '| engine | audio (s) | synthesis (s) | RTF | note |',
    '|---|---:|---:|---:|---|',
    ...r.rtf.map(
      (x) => `| ${x.engine} | ${f(x.audioSec)} | ${f(x.synthSec)} | ${x.rtf.toFixed(3)} | ${x.note} |`,
    ),
    '',
    'Kokoro, Piper and Matcha voices cannot be downloaded on this machine; their published speeds are in docs/voices.md (published, not measured).',
    '',
    `## HTTP accept latency while ${r.acceptLatency[0]?.spokenReplies ?? 20} spoken replies are synthesised (target p95 ≤ ${r.targetP95Ms} ms)`,
    '',
    'POST /v1/messages (text, → 202) every 50 ms, from the first spoken reply accepted until the last one is done; 20 workers, so all replies are in flight together.',
    '',
    '| TTS engine | probes | p50 (ms) | p95 (ms) | max (ms) | event-loop delay p99 / max (ms) | 20 replies done in (s) | failed | target met |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...r.acceptLatency.map(
      (a) =>
        `| ${a.engine} | ${a.probes} | ${f(a.p50Ms)} | ${f(a.p95Ms)} | ${f(a.maxMs)} | ${f(a.eventLoopDelayP99Ms)} / ${f(a.eventLoopDelayMaxMs)} | ${f(a.repliesDoneSec)} | ${a.failed} | ${a.p95Ms <= r.targetP95Ms ? 'yes' : 'NO'} |`,
    ),
    '',
  ].join('\n');
}

/** `tsx bench/voice-tts.ts`: this part alone, printed (the full bench:voice writes it into voice.md/json). */
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const only = process.argv[2];
  if (only === 'accept-espeak' || only === 'accept-text' || only === 'accept-sherpa') {
    // `tsx bench/voice-tts.ts accept-espeak|accept-text|accept-sherpa`: one accept-latency run alone
    // (for profiling, and for before/after comparisons run back to back)
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'june-bench-tts-'));
    try {
      const voiceDir = path.join(tmp, 'tiny-piper');
      if (only === 'accept-sherpa') await writeTinyPiperVoice(voiceDir);
      const a =
        only === 'accept-espeak'
          ? await acceptLatency('espeak-ng', { tts: 'espeak-ng' })
          : only === 'accept-text'
            ? await acceptLatency('none: the 20 replies as text (baseline)', { tts: 'espeak-ng' }, false)
            : await acceptLatency('sherpa-onnx (tiny test voice)', {
                tts: 'sherpa',
                ttsSherpaModel: voiceDir,
              });
      process.stdout.write(JSON.stringify(a) + '\n');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  } else {
    const r = await runTtsBench();
    process.stdout.write(JSON.stringify(r, null, 2) + '\n' + ttsMarkdown(r));
  }
}
