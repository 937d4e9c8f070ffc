/**
 * Old reply audio goes: a task's reply and its sentence clips (the web page's `<taskId>_s<n>`) are removed
 * together once the newest of them is older than the retention, by the store's sweep and by the channel
 * runtime when it starts; a recent task's audio stays, clips included.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { eventually } from '../tasks/testing/eventually.js';
import { AUDIO_RETENTION_MS, AudioStore } from './audio-store.js';
import { startChannelRuntime } from './runtime.js';
import { sentenceClipId } from './sentence-audio.js';

const DAY = 24 * 3_600_000;
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});
const tempDir = async () => {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'june-audio-store-'));
  dirs.push(d);
  return d;
};

/** Saves a reply and two sentence clips for `taskId`, dated `ageMs` ago (the reply `replyAgeMs` ago). */
async function saveTask(store: AudioStore, taskId: string, ageMs: number, replyAgeMs = ageMs) {
  const when = (ms: number) => new Date(Date.now() - ms);
  await store.save(taskId, Buffer.from('reply'), 'ogg');
  await fs.utimes(path.join(store.dir, `${taskId}.ogg`), when(replyAgeMs), when(replyAgeMs));
  for (const i of [0, 1]) {
    await store.save(sentenceClipId(taskId, i), Buffer.from(`clip ${i}`), 'ogg');
    const file = path.join(store.dir, `${sentenceClipId(taskId, i)}.ogg`);
    await fs.utimes(file, when(ageMs), when(ageMs));
  }
}

describe('reply audio retention', () => {
  it("removes an old task's reply and sentence clips together, and keeps a recent task's", async () => {
    const store = new AudioStore(await tempDir());
    await saveTask(store, 'old-task', 8 * DAY);
    await saveTask(store, 'new-task', 1000);
    // clips as old as the old task's, but their reply is recent: the task's audio is kept whole
    await saveTask(store, 'mixed-task', 8 * DAY, 1000);

    expect(await store.sweep(AUDIO_RETENTION_MS)).toBe(3);
    expect(await store.read('old-task')).toBeUndefined();
    expect(await store.read(sentenceClipId('old-task', 0))).toBeUndefined();
    expect(await store.read(sentenceClipId('old-task', 1))).toBeUndefined();
    for (const id of ['new-task', 'mixed-task']) {
      expect(await store.read(id)).toEqual(Buffer.from('reply'));
      expect(await store.read(sentenceClipId(id, 1))).toEqual(Buffer.from('clip 1'));
    }
    expect((await fs.readdir(store.dir)).sort()).toEqual([
      'mixed-task.ogg',
      'mixed-task_s0.ogg',
      'mixed-task_s1.ogg',
      'new-task.ogg',
      'new-task_s0.ogg',
      'new-task_s1.ogg',
    ]);
  });

  it('the channel runtime sweeps old audio when it starts', async () => {
    const dataDir = await tempDir();
    const store = new AudioStore(path.join(dataDir, 'audio'));
    await saveTask(store, 'old-task', 8 * DAY);
    await saveTask(store, 'new-task', 1000);
    const config = loadConfig({ env: {}, file: undefined, overrides: { dataDir } });
    const runtime = await startChannelRuntime({ config, logger: createLogger('silent'), adapters: [] });
    try {
      await eventually(
        async () => (await store.read(sentenceClipId('old-task', 1))) === undefined || undefined,
        'the old clips to go',
      );
      expect(await store.read('old-task')).toBeUndefined();
      expect(await runtime.audio.read(sentenceClipId('new-task', 0))).toEqual(Buffer.from('clip 0'));
    } finally {
      await runtime.stop();
    }
  });
});
