import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPocketsphinxHelper } from './pocketsphinx.js';

/** Runs the helper with `stdin` as its whole input. */
function runHelper(bin: string, args: string[], stdin: Buffer) {
  return new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = execFile(bin, args, { encoding: 'buffer', timeout: 20_000 }, (err, stdout) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout: stdout.toString() });
    });
    child.stdin?.on('error', () => undefined); // a helper that exits early closes its stdin (EPIPE)
    child.stdin?.end(stdin);
  });
}

describe('native pocketsphinx helper (native/build.sh)', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('builds into the given folder once, then reuses the binary', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'june-native-'));
    const bin = await buildPocketsphinxHelper(dir);
    expect(bin).toBe(path.join(dir, 'pocketsphinx-server'));
    const built = await stat(bin);
    expect(built.mode & 0o111).not.toBe(0);
    expect(await buildPocketsphinxHelper(dir)).toBe(bin);
    expect((await stat(bin)).mtimeMs).toBe(built.mtimeMs);
  });

  it('speaks the length-prefixed protocol: ready line, one JSON line per utterance, exit 0 on EOF', async () => {
    const bin = path.join(dir, 'pocketsphinx-server');
    const silence = Buffer.alloc(16_000 * 2); // one second of 16 kHz s16le zeros
    const header = Buffer.alloc(4);
    header.writeUInt32LE(silence.length);
    const empty = Buffer.alloc(4); // a zero-length utterance
    const { code, stdout } = await runHelper(bin, [], Buffer.concat([header, silence, empty]));
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({ ready: true, sampleRate: 16000 });
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatchObject({ hyp: '', frames: 100, words: [] });
    expect(lines[2]).toMatchObject({ hyp: '', frames: 0 });
  });

  it('refuses a corrupt length header with a JSON error and a non-zero exit', async () => {
    const bin = path.join(dir, 'pocketsphinx-server');
    const odd = Buffer.alloc(4);
    odd.writeUInt32LE(3); // odd byte count: not s16le, the stream is out of step
    const { code, stdout } = await runHelper(bin, [], odd);
    expect(code).toBe(1);
    expect(stdout).toMatch(/"error":"bad request length 3"/);
  });

  it('reports bad decoder arguments as a JSON error with exit status 2', async () => {
    const bin = path.join(dir, 'pocketsphinx-server');
    const { code, stdout } = await runHelper(bin, ['-no-such-flag', 'x'], Buffer.alloc(0));
    expect(code).toBe(2);
    expect(JSON.parse(stdout.trim())).toHaveProperty('error');
  });
});
