import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { AudioStore } from './audio-store.js';
import { progressReporter, sentenceClipId } from './sentence-audio.js';

const tone = (seconds: number) => {
  const sampleRate = 16_000;
  const samples = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * 440 * i) / sampleRate);
  return { samples, sampleRate };
};

describe('progressReporter', () => {
  it('keeps each clip as OGG/Opus and reports it in order with the other events', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'june-clips-'));
    const audio = new AudioStore(dir);
    const reported: Array<[string, unknown]> = [];
    const progress = progressReporter({
      taskId: 'voice-abc',
      reportProgress: async (stage, data) => void reported.push([stage, data]),
      audio,
      logger: createLogger('silent'),
    });
    progress.report('sentence', { index: 0, text: 'Hello.' });
    progress.clip(0, 1, tone(1));
    // a retract reported right after a clip still comes after it, never before
    progress.report('retract', { sentences: 1 });
    progress.clip(1, 0.5, tone(0.5));
    await progress.settled();
    expect(reported).toEqual([
      ['sentence', { index: 0, text: 'Hello.' }],
      ['audio', { index: 0, durationSec: 1 }],
      ['retract', { sentences: 1 }],
      ['audio', { index: 1, durationSec: 0.5 }],
    ]);
    const clip = await audio.read(sentenceClipId('voice-abc', 0), 'ogg');
    expect(clip?.subarray(0, 4).toString()).toBe('OggS');
  });

  it('makes no clip without a store, and says when a clip could not be made', async () => {
    const reported: Array<[string, unknown]> = [];
    const report = async (stage: string, data: unknown) => void reported.push([stage, data]);
    const none = progressReporter({ taskId: 't', reportProgress: report, logger: createLogger('silent') });
    none.clip(0, 1, tone(1));
    await none.settled();
    expect(reported).toEqual([]);

    const broken = progressReporter({
      taskId: 'bad id!',
      reportProgress: report,
      audio: new AudioStore(await fs.mkdtemp(path.join(os.tmpdir(), 'june-clips-'))),
      logger: createLogger('silent'),
    });
    broken.clip(0, 1, tone(1));
    await broken.settled();
    expect(reported).toEqual([['audio', { index: 0, failed: true }]]);
  });
});
