import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError, ModelError } from '../util/errors.js';
import { downloadFile, type DownloadProgress } from './download.js';
import { closedPortUrl, randomFile, startFileServer, type FileServer } from './testing/file-server.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

/** A real pino logger whose JSON lines are kept for assertions. */
function memoryLogger() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

async function expectModelError(promise: Promise<unknown>, code: string): Promise<ModelError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelError);
  expect((err as ModelError).code).toBe(code);
  return err as ModelError;
}

let dir: string;
let server: FileServer;
let dest: string;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-download-'));
  dest = path.join(dir, 'sub', 'model.bin');
  server = await startFileServer();
});

afterEach(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('downloadFile', () => {
  it('downloads, verifies both checksums, reports progress and leaves no part file', async () => {
    const data = randomFile(300_000);
    server.add('/m.bin', data);
    server.behaviour.throttleBytesPerSec = 1_000_000; // ~0.3 s, so several progress events are throttled out
    const events: DownloadProgress[] = [];
    const { logger } = memoryLogger();

    await downloadFile(`${server.url}/m.bin`, dest, {
      sha256: sha256(data),
      sha1: sha1(data).toUpperCase(), // upstream tables are not always lower case
      expectedBytes: data.length,
      onProgress: (p) => events.push(p),
      logger,
    });

    expect(fs.readFileSync(dest).equals(data)).toBe(true);
    expect(fs.existsSync(dest + '.part')).toBe(false);
    expect(server.requests).toEqual([{ path: '/m.bin', range: undefined }]);
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.received).toBeGreaterThanOrEqual(events[i - 1]!.received);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ received: data.length, total: data.length });
    expect(last.bytesPerSec).toBeGreaterThan(0);
    expect(last.bytesPerSec).toBeLessThan(5_000_000); // the throttle is visible in the reported speed
  });

  it('keeps the part after a cut connection and resumes it with a Range request on the next call', async () => {
    const data = randomFile(200_000);
    server.add('/m.bin', data);
    server.behaviour.cutFirstRequestHalfway = true;
    const url = `${server.url}/m.bin`;
    const { logger } = memoryLogger();

    const err = await expectModelError(
      downloadFile(url, dest, { sha256: sha256(data), retries: 0, logger }),
      'model_download_failed',
    );
    expect(err.retryable).toBe(true);
    expect(fs.existsSync(dest)).toBe(false);
    // What reached the disk is a prefix of the file (bytes still queued in the socket when it broke are lost).
    const kept = fs.readFileSync(dest + '.part');
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThanOrEqual(100_000);
    expect(kept.equals(data.subarray(0, kept.length))).toBe(true);

    const events: DownloadProgress[] = [];
    await downloadFile(url, dest, { sha256: sha256(data), logger, onProgress: (p) => events.push(p) });
    expect(server.requests.map((r) => r.range)).toEqual([undefined, `bytes=${kept.length}-`]);
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
    expect(events.at(-1)).toMatchObject({ received: data.length, total: data.length });
  });

  it('retries a connection reset mid-body within one call by resuming', async () => {
    const data = randomFile(150_000);
    server.add('/m.bin', data);
    server.behaviour.cutFirstRequestHalfway = true;
    const { logger, lines } = memoryLogger();

    await downloadFile(`${server.url}/m.bin`, dest, {
      sha256: sha256(data),
      retryDelayMs: 5,
      logger,
    });

    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]!.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(server.requests[1]!.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(75_000);
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
    expect(lines.some((l) => l.msg.includes('interrupted; resuming'))).toBe(true);
  });

  it('starts over when the server ignores Range and answers 200', async () => {
    const data = randomFile(50_000);
    server.add('/m.bin', data);
    server.behaviour.ignoreRange = true;
    // A part whose bytes do not match the file: only a real restart (truncate) yields the right checksum.
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest + '.part', randomFile(20_000));
    const { logger, lines } = memoryLogger();

    await downloadFile(`${server.url}/m.bin`, dest, {
      sha256: sha256(data),
      expectedBytes: data.length,
      logger,
    });

    expect(server.requests).toEqual([{ path: '/m.bin', range: 'bytes=20000-' }]);
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
    expect(lines.some((l) => l.msg.includes('ignored the Range request'))).toBe(true);
  });

  it('finishes a part that is already complete without downloading it again', async () => {
    const data = randomFile(30_000);
    server.add('/m.bin', data);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest + '.part', data);

    // Without expectedBytes the client has to ask; the server answers 416 with the full size.
    await downloadFile(`${server.url}/m.bin`, dest, { sha256: sha256(data), logger: memoryLogger().logger });

    expect(server.requests.map((r) => r.range)).toEqual(['bytes=30000-']);
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
  });

  it('removes the part and fails with model_checksum when the SHA-256 does not match', async () => {
    const data = randomFile(40_000);
    server.add('/m.bin', data);
    const wrong = sha256(Buffer.from('something else'));

    const err = await expectModelError(
      downloadFile(`${server.url}/m.bin`, dest, { sha256: wrong, logger: memoryLogger().logger }),
      'model_checksum',
    );
    expect(err.message).toContain(sha256(data));
    expect(err.message).toContain(wrong);
    expect(err.retryable).toBe(false);
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.existsSync(dest + '.part')).toBe(false);
  });

  it('hashes the kept part too: a corrupt resumed part is caught and the file downloaded again once', async () => {
    const data = randomFile(60_000);
    server.add('/m.bin', data);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    // First half corrupted on disk: the resumed tail is fine, so only hashing the kept part catches it.
    const badHead = Buffer.from(data.subarray(0, 30_000));
    badHead[10] = badHead[10]! ^ 0xff;
    fs.writeFileSync(dest + '.part', badHead);
    const { logger, lines } = memoryLogger();

    await downloadFile(`${server.url}/m.bin`, dest, { sha1: sha1(data), logger });

    expect(server.requests.map((r) => r.range)).toEqual(['bytes=30000-', undefined]);
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
    expect(lines.some((l) => l.level === 40 && l.msg.includes('was corrupt; downloading it again'))).toBe(
      true,
    );
  });

  it('gives up with model_checksum when the fresh download after a corrupt resume is wrong as well', async () => {
    const data = randomFile(20_000);
    server.add('/m.bin', data);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest + '.part', data.subarray(0, 5_000));

    await expectModelError(
      downloadFile(`${server.url}/m.bin`, dest, {
        sha256: sha256(randomFile(10)),
        logger: memoryLogger().logger,
      }),
      'model_checksum',
    );
    expect(server.requests.map((r) => r.range)).toEqual(['bytes=5000-', undefined]);
    expect(fs.existsSync(dest + '.part')).toBe(false);
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('refuses to start when the disk cannot hold the file', async () => {
    server.add('/m.bin', randomFile(1_000));
    const err = await expectModelError(
      downloadFile(`${server.url}/m.bin`, dest, { expectedBytes: 10 ** 15, logger: memoryLogger().logger }),
      'model_download_failed',
    );
    expect(err.message).toContain('Not enough disk space');
    expect(err.message).toContain('JUNE_MODELS_DIR');
    expect(server.requests).toEqual([]);
  });

  it('refuses a file of the wrong size before downloading it', async () => {
    server.add('/m.bin', randomFile(10_000));
    const err = await expectModelError(
      downloadFile(`${server.url}/m.bin`, dest, { expectedBytes: 12_345, logger: memoryLogger().logger }),
      'model_checksum',
    );
    expect(err.message).toContain('12345');
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('logs that verification was skipped when no checksum is known', async () => {
    const data = randomFile(5_000);
    server.add('/m.bin', data);
    const { logger, lines } = memoryLogger();
    await downloadFile(`${server.url}/m.bin`, dest, { label: 'tiny-test', logger });
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
    const warning = lines.find((l) => l.msg.includes('verification skipped'));
    expect(warning?.level).toBe(40); // pino warn
    expect(warning?.msg).toContain('tiny-test');
  });

  it('fails with model_offline naming the model, URL, destination and env var when the port is closed', async () => {
    const url = `${await closedPortUrl()}/ggml-x.bin`;
    const err = await expectModelError(
      downloadFile(url, dest, {
        label: 'base.en',
        pathEnvVar: 'JUNE_STT_MODEL',
        logger: memoryLogger().logger,
      }),
      'model_offline',
    );
    expect(err.message).toContain('base.en');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message).toContain(url);
    expect(err.message).toContain(`place the file at ${dest}`);
    expect(err.message).toContain('JUNE_STT_MODEL');
    expect(err.userMessage).toBe(err.message);
  });

  it('fails with model_offline at once when the host does not resolve', async () => {
    const url = 'http://june-offline.invalid/ggml-base.en.bin';
    const { logger, lines } = memoryLogger();
    const err = await expectModelError(
      downloadFile(url, dest, { label: 'base.en', retryDelayMs: 60_000, logger }),
      'model_offline',
    );
    // No retries with back-off for an absent network (one would wait a minute before trying again).
    expect(lines.filter((l) => l.msg.includes('interrupted'))).toEqual([]);
    expect(err.message).toMatch(/june-offline\.invalid is not reachable \((ENOTFOUND|EAI_AGAIN)\)/);
    expect(err.message).toContain(dest);
  });

  it('fails with model_offline when the host accepts connections but never answers', async () => {
    // A TCP server that never speaks HTTP: what a captive portal or a black-holed proxy looks like.
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const err = await expectModelError(
        downloadFile(`http://127.0.0.1:${port}/m.bin`, dest, {
          timeoutMs: 200,
          logger: memoryLogger().logger,
        }),
        'model_offline',
      );
      expect(err.message).toContain('ETIMEDOUT');
    } finally {
      silent.close();
    }
  });

  it('maps HTTP 404 to model_not_found', async () => {
    const err = await expectModelError(
      downloadFile(`${server.url}/missing.bin`, dest, { label: 'qwen3-0.6b', logger: memoryLogger().logger }),
      'model_not_found',
    );
    expect(err.message).toContain('HTTP 404');
    expect(err.message).toContain('JUNE_MODEL_BASE_URL');
  });

  it('retries 503 answers and follows redirects', async () => {
    const data = randomFile(8_000);
    server.add('/cdn/m.bin', data);
    server.redirect('/m.bin', '/cdn/m.bin');
    server.behaviour.failWith = [503, 502];

    await downloadFile(`${server.url}/m.bin`, dest, {
      sha256: sha256(data),
      retryDelayMs: 5,
      logger: memoryLogger().logger,
    });

    expect(server.requests.map((r) => r.path)).toEqual(['/m.bin', '/m.bin', '/m.bin', '/cdn/m.bin']);
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
  });

  it('gives up after the allowed retries with a retryable model_download_failed', async () => {
    server.add('/m.bin', randomFile(1_000));
    server.behaviour.failWith = [500, 500, 500];
    const err = await expectModelError(
      downloadFile(`${server.url}/m.bin`, dest, {
        retries: 2,
        retryDelayMs: 5,
        logger: memoryLogger().logger,
      }),
      'model_download_failed',
    );
    expect(err.message).toContain('after 3 attempts');
    expect(server.requests).toHaveLength(3);
  });

  it('treats a stalled body as transient and resumes after the stall', async () => {
    const data = randomFile(64 * 1024);
    server.add('/m.bin', data);
    // One 16 KiB chunk, then silence far longer than the client's limit, which is itself far longer than a
    // loaded machine takes to deliver the first chunk (a shorter limit could expire before it arrives).
    server.behaviour.stallFirstRequestMs = 30_000;
    const { logger, lines } = memoryLogger();
    const promise = downloadFile(`${server.url}/m.bin`, dest, {
      sha256: sha256(data),
      timeoutMs: 1_500,
      retryDelayMs: 5,
      logger,
    });
    await promise;
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
    expect(server.requests.map((r) => r.range)).toEqual([undefined, `bytes=${16 * 1024}-`]);
    expect(lines.some((l) => l.msg.includes('interrupted'))).toBe(true);
  });

  it('stops on abort with CancelledError and keeps the part for later', async () => {
    server.add('/m.bin', randomFile(400_000));
    server.behaviour.throttleBytesPerSec = 500_000;
    const controller = new AbortController();
    const promise = downloadFile(`${server.url}/m.bin`, dest, {
      signal: controller.signal,
      logger: memoryLogger().logger,
      onProgress: (p) => {
        if (p.received > 50_000) controller.abort();
      },
    });
    await expect(promise).rejects.toBeInstanceOf(CancelledError);
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.statSync(dest + '.part').size).toBeGreaterThan(0);
  });
});
