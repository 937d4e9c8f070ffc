import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import type { JuneConfig } from '../config/schema.js';
import { EXTRACTED_MARKER } from './archive.js';
import { createModelManager } from './manager.js';
import type { ModelEntry } from './registry.js';
import { startFileServer, type FileServer } from './testing/file-server.js';

const logger = pino({ level: 'silent' });
let tmp: string;
let server: FileServer;
let archive: Buffer;

const entry: ModelEntry = {
  id: 'voice-archive',
  kind: 'sherpa-tts',
  file: 'voice-archive.tar.bz2',
  url: '/k2-fsa/sherpa-onnx/releases/download/tts-models/voice-archive.tar.bz2',
  source: 'github-release',
  archiveDir: 'voice-archive',
  sizeBytes: 50_000_000, // approximate, as for the real voices: not enforced
  sizeApproximate: true,
  description: 'a .tar.bz2 made by the test',
  license: 'MIT',
};

/** A .tar.bz2 laid out like sherpa-onnx's: one top directory named like the archive. */
function makeArchive(dir: string): Buffer {
  const src = path.join(dir, 'src', 'voice-archive');
  fs.mkdirSync(path.join(src, 'espeak-ng-data'), { recursive: true });
  fs.writeFileSync(path.join(src, 'model.onnx'), 'model bytes');
  fs.writeFileSync(path.join(src, 'tokens.txt'), '_ 0\n');
  fs.writeFileSync(path.join(src, 'espeak-ng-data', 'phontab'), 'x');
  const out = path.join(dir, 'voice-archive.tar.bz2');
  execFileSync('tar', ['-cjf', out, '-C', path.join(dir, 'src'), 'voice-archive']);
  return fs.readFileSync(out);
}

function config(env: Record<string, string> = {}): JuneConfig {
  return loadConfig({
    env: {
      JUNE_MODELS_DIR: path.join(tmp, 'models'),
      JUNE_MODEL_RELEASE_BASE_URL: server.url,
      JUNE_MODEL_BASE_URL: 'http://127.0.0.1:9/not-used',
      ...env,
    },
  });
}

beforeEach(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'june-archive-'));
  server = await startFileServer();
  archive = makeArchive(tmp);
  server.add(entry.url, archive);
});

afterEach(async () => {
  await server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('model archives', () => {
  it('downloads a GitHub-release archive from the release base URL and unpacks it into the cache', async () => {
    const manager = createModelManager([entry]);
    const cfg = config();
    expect(manager.isModelCached(cfg, entry.id)).toBe(false);

    const dir = await manager.resolveModel(cfg, entry.id, { logger, onProgress: () => {} });

    expect(dir).toBe(path.join(cfg.modelsDir, 'voice-archive'));
    expect(fs.readFileSync(path.join(dir, 'model.onnx'), 'utf8')).toBe('model bytes');
    expect(fs.existsSync(path.join(dir, 'espeak-ng-data', 'phontab'))).toBe(true);
    expect(fs.existsSync(path.join(dir, EXTRACTED_MARKER))).toBe(true);
    // the archive and any temporary directory are gone; only the unpacked voice stays
    expect(fs.readdirSync(cfg.modelsDir)).toEqual(['voice-archive']);
    expect(manager.isModelCached(cfg, entry.id)).toBe(true);
    expect(manager.listModels(cfg)[0]).toMatchObject({ cached: true, path: dir });

    expect(await manager.resolveModel(cfg, entry.id, { logger })).toBe(dir);
    expect(await manager.resolveModel(cfg, dir, { logger })).toBe(dir); // the directory as a path
    expect(server.requests).toHaveLength(1);
  });

  it('offline: names the archive URL and where to put it, and unpacks an archive placed there by hand', async () => {
    const manager = createModelManager([entry]);
    const cfg = config({ JUNE_OFFLINE: 'true' });
    const err = await manager.resolveModel(cfg, entry.id, { logger }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'model_offline' });
    const message = (err as Error).message;
    expect(message).toContain(`${server.url}${entry.url}`);
    expect(message).toContain(path.join(cfg.modelsDir, entry.file));
    expect(message).toContain('JUNE_TTS_SHERPA_MODEL');

    fs.mkdirSync(cfg.modelsDir, { recursive: true });
    fs.writeFileSync(path.join(cfg.modelsDir, entry.file), archive);
    const dir = await manager.resolveModel(cfg, entry.id, { logger });
    expect(fs.readFileSync(path.join(dir, 'tokens.txt'), 'utf8')).toBe('_ 0\n');
    expect(server.requests).toHaveLength(0);
  });

  it('removes an archive that does not unpack, so the next run downloads it afresh', async () => {
    server.add('/k2-fsa/sherpa-onnx/releases/download/tts-models/broken.tar.bz2', Buffer.from('not bzip2'));
    const broken: ModelEntry = {
      ...entry,
      id: 'broken',
      file: 'broken.tar.bz2',
      url: '/k2-fsa/sherpa-onnx/releases/download/tts-models/broken.tar.bz2',
      archiveDir: 'broken',
    };
    const manager = createModelManager([broken]);
    const cfg = config();
    await expect(manager.resolveModel(cfg, 'broken', { logger, onProgress: () => {} })).rejects.toMatchObject(
      {
        code: 'model_invalid',
      },
    );
    expect(manager.isModelCached(cfg, 'broken')).toBe(false);
    expect(fs.readdirSync(cfg.modelsDir)).toEqual([]);
  });
});
