import type { TurnTimings } from '../pipeline/types.js';

/** "decode 12 ms · stt 840 ms · …" in stage order, skipping stages that did not run. */
export function formatTimings(t: TurnTimings): string {
  const parts: Array<[string, number | undefined]> = [
    ['decode', t.decodeMs],
    ['vad', t.vadMs],
    ['stt', t.sttMs],
    ['llm first token', t.llmFirstTokenMs],
    ['llm first answer token', t.llmFirstAnswerTokenMs],
    ['llm total', t.llmTotalMs],
    ['tts first chunk', t.ttsFirstChunkMs],
    ['tts total', t.ttsTotalMs],
    ['encode', t.encodeMs],
    ['first audio', t.timeToFirstAudioMs],
    ['total', t.totalMs],
    ['overhead', t.overheadMs],
  ];
  return parts
    .filter((p): p is [string, number] => p[1] !== undefined)
    .map(([k, v]) => `${k} ${v < 10 ? v.toFixed(1) : Math.round(v)} ms`)
    .join(' · ');
}

/** Output format from a file name's extension. */
export function formatFromPath(file: string): 'ogg' | 'mp3' | 'wav' {
  const ext = file.toLowerCase().split('.').pop();
  if (ext === 'mp3') return 'mp3';
  if (ext === 'wav') return 'wav';
  return 'ogg';
}
