/**
 * `npm run bench:channels`: 50 voice notes from 50 different approved Telegram users arrive at once
 * through the fake Bot API server (real HTTP long polling, multipart uploads). June runs in-process as
 * `june start` does: SQLite task queue, gateway, Telegram adapter, workers, and the embedded engines
 * (ffmpeg, pocketsphinx, espeak-ng) with a local OpenAI-compatible LLM server that answers instantly, so
 * the numbers show the channel path and the audio engines, not a model's speed.
 *
 * Reports lost messages and duplicated replies (both must be 0), end-to-end latency (update pushed →
 * sendVoice received by the Bot API server), and the channel overhead: end to end minus the pipeline's own
 * totalMs (read from each task's result), split into ingest, queue wait and the rest of the handler.
 *
 * Writes bench/results/channels.md and channels.json. BENCH_USERS and BENCH_CONCURRENCY override the
 * defaults (50 users; workers = CPU cores).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChannelTurnPayload } from '../src/channels/turn-task.js';
import type { ChannelTurnResult } from '../src/channels/turn-handler.js';
import { createLogger } from '../src/observability/logger.js';
import { PocketsphinxSpeechToText } from '../src/providers/stt/pocketsphinx.js';
import { EspeakTextToSpeech } from '../src/providers/tts/espeak.js';
import { startFakeOpenAiServer } from '../test/helpers/fake-openai-server.js';
import { privateChat, startFakeTelegramServer, tgUser } from '../test/helpers/fake-telegram-server.js';
import { spokenVoiceNote } from '../test/helpers/speech-fixtures.js';
import { startJune } from '../test/helpers/telegram-june.js';
import { machineInfo, machineMarkdown, percentile } from './machine.js';

const repo = path.resolve(import.meta.dirname, '..');
const USERS = Number(process.env.BENCH_USERS ?? 50);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? os.cpus().length);
const TIMEOUT_MS = 10 * 60_000;

const QUESTIONS = [
  'what is the weather like today',
  'set a timer for ten minutes',
  'tell me a short joke',
  'how far away is the moon',
  'what time is it in tokyo',
  'remind me to call my mother',
  'play some relaxing music',
  'what is the capital of france',
  'how do I boil an egg',
  'turn off the kitchen lights',
];

interface Sample {
  messageId: number;
  endToEndMs: number;
  pipelineMs: number;
  overheadMs: number;
  ingestMs: number;
  queueWaitMs: number;
  handlerOtherMs: number;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const logger = createLogger('silent');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'june-bench-channels-'));
  const notes = await Promise.all(QUESTIONS.map((q, i) => spokenVoiceNote(tmp, q, `q${i}`)));

  const tg = await startFakeTelegramServer();
  const llm = await startFakeOpenAiServer();
  const stt = new PocketsphinxSpeechToText({ logger });
  const tts = new EspeakTextToSpeech({ logger });
  await stt.load();
  const users = Array.from({ length: USERS }, (_, i) => tgUser(100_000 + i, `User${i}`));
  const warm = tgUser(99, 'Warm');
  const june = await startJune({
    telegram: tg,
    llm,
    engines: { stt, tts },
    concurrency: CONCURRENCY,
    logger,
    env: {
      JUNE_ALLOW_USERS: [warm, ...users].map((u) => `telegram:${u.id}`).join(','),
      JUNE_TASK_LEASE_MS: '60000',
    },
  });

  // one warm-up turn (models, caches), not measured
  tg.sendVoiceNote(warm, privateChat(warm), notes[0]!);
  await tg.waitFor(() => tg.sent('sendVoice')[0], 'the warm-up reply', 120_000);
  tg.reset();

  const pushedAt = new Map<number, number>();
  const started = Date.now();
  for (const [i, u] of users.entries()) {
    const at = Date.now();
    const { messageId } = tg.sendVoiceNote(u, privateChat(u), notes[i % notes.length]!);
    pushedAt.set(messageId, at);
  }
  const replyOf = (c: { params: Record<string, unknown> }) =>
    Number((c.params.reply_parameters as { message_id?: number } | undefined)?.message_id);
  const answered = () =>
    new Set(
      tg
        .sent()
        .filter((c) => c.method !== 'sendChatAction')
        .map(replyOf),
    );
  await tg
    .waitFor(() => [...pushedAt.keys()].every((id) => answered().has(id)), 'every reply', TIMEOUT_MS)
    .catch((err: unknown) => process.stderr.write(`${String(err)}\n`));
  const wallMs = Date.now() - started;
  // let stragglers (a duplicate would show up here) arrive before counting
  await new Promise((r) => setTimeout(r, 2000));

  const voices = tg.sent('sendVoice');
  const texts = tg.sent('sendMessage');
  const perMessage = new Map<number, number>();
  for (const c of voices) perMessage.set(replyOf(c), (perMessage.get(replyOf(c)) ?? 0) + 1);
  const lost = [...pushedAt.keys()].filter(
    (id) => !perMessage.has(id) && !texts.some((t) => replyOf(t) === id),
  );
  const duplicated = [...perMessage.values()].reduce((n, k) => n + Math.max(0, k - 1), 0);
  const tasks = await june.tasks();

  const samples: Sample[] = [];
  for (const t of tasks) {
    const payload = t.payload as ChannelTurnPayload;
    const id = Number(payload.message.messageId);
    const pushed = pushedAt.get(id);
    const reply = voices.find((c) => replyOf(c) === id);
    const result = t.result as ChannelTurnResult | undefined;
    if (pushed === undefined || !reply || !result || t.startedAt === undefined) continue;
    const endToEndMs = reply.at - pushed;
    const pipelineMs = result.timings.totalMs;
    const ingestMs = t.createdAt - pushed;
    const queueWaitMs = t.startedAt - t.createdAt;
    samples.push({
      messageId: id,
      endToEndMs,
      pipelineMs,
      overheadMs: endToEndMs - pipelineMs,
      ingestMs,
      queueWaitMs,
      handlerOtherMs: endToEndMs - pipelineMs - ingestMs - queueWaitMs,
    });
  }
  await june.stop();
  await stt.close();
  await tg.close();
  await llm.close();

  const stat = (k: keyof Sample) => {
    const v = samples.map((s) => s[k]);
    return { p50: percentile(v, 50), p95: percentile(v, 95), max: Math.max(...v) };
  };
  const keys: Array<[keyof Sample, string]> = [
    ['endToEndMs', 'end to end (update pushed → sendVoice received)'],
    ['pipelineMs', "pipeline's own totalMs (decode, VAD, STT, LLM, TTS, encode)"],
    ['overheadMs', 'channel overhead = end to end − pipeline'],
    ['ingestMs', '  of which ingest (push → long poll → gateway → task stored)'],
    ['queueWaitMs', '  of which queue wait (task stored → claimed by a worker)'],
    ['handlerOtherMs', '  of which the rest (download, history, reply upload)'],
  ];
  const stats = Object.fromEntries(keys.map(([k]) => [k, stat(k)]));
  const results = {
    machine,
    users: USERS,
    workerConcurrency: CONCURRENCY,
    engines: {
      stt: 'pocketsphinx',
      tts: 'espeak-ng',
      llm: 'local OpenAI-compatible echo server (no model time)',
    },
    lostMessages: lost.length,
    duplicatedReplies: duplicated,
    errorReplies: texts.length,
    repliesReceived: voices.length,
    wallMs,
    throughputPerMin: (samples.length / wallMs) * 60_000,
    stats,
  };
  const outDir = path.join(repo, 'bench/results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'channels.json'), JSON.stringify(results, null, 2) + '\n');

  const f = (n: number) => (Number.isFinite(n) ? Math.round(n).toString() : '–');
  const md = [
    '# bench:channels',
    '',
    machineMarkdown(machine),
    `- ${USERS} voice notes from ${USERS} different approved users, pushed at once through the fake Telegram Bot API server (long polling, multipart uploads, real HTTP on loopback)`,
    `- June in-process: SQLite queue, gateway, Telegram adapter, ${CONCURRENCY} worker slots; engines: ffmpeg, pocketsphinx (one decoder, requests one at a time), espeak-ng; LLM: ${results.engines.llm}`,
    '',
    '## Delivery',
    '',
    `- lost messages: **${lost.length}** (must be 0)`,
    `- duplicated replies: **${duplicated}** (must be 0)`,
    `- voice replies received: ${voices.length} of ${USERS}; text/error replies: ${texts.length}`,
    `- all ${USERS} answered in ${(wallMs / 1000).toFixed(1)} s (${results.throughputPerMin.toFixed(0)} voice turns per minute)`,
    '',
    '## Latency (ms)',
    '',
    '| | p50 | p95 | max |',
    '|---|---:|---:|---:|',
    ...keys.map(
      ([k, label]) => `| ${label} | ${f(stats[k]!.p50)} | ${f(stats[k]!.p95)} | ${f(stats[k]!.max)} |`,
    ),
    '',
    `All ${USERS} arrive in the same second, so most of the overhead is the queue wait: a turn waits for the`,
    'worker slots and for the single pocketsphinx decoder. Ingest and the rest of the handler are the',
    "channel's own cost per message.",
    '',
  ].join('\n');
  fs.writeFileSync(path.join(outDir, 'channels.md'), md);
  process.stdout.write(md);
  fs.rmSync(tmp, { recursive: true, force: true });
  if (lost.length > 0 || duplicated > 0) process.exitCode = 1;
}

await main();
