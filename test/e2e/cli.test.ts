/**
 * The `june` command as a user runs it: a real process, real engines, an OpenAI-compatible LLM server on
 * loopback. Checks output, files written and exit codes.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { execJune, type JuneRun } from '../helpers/june-cli.js';
import { ffprobeBuffer, makeTempDir, spokenVoiceNote } from '../helpers/speech-fixtures.js';

let dir: string;
let server: FakeOpenAiServer;

function june(args: string[], env: Record<string, string> = {}): Promise<JuneRun> {
  return execJune(args, {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      JUNE_MODELS_DIR: path.join(dir, 'models'),
      JUNE_DATA_DIR: path.join(dir, 'data'),
      JUNE_LLM_BASE_URL: server.url,
      JUNE_LLM_MODEL: 'june-test-model',
      ...env,
    },
  });
}

beforeAll(async () => {
  dir = await makeTempDir('june-cli-');
  server = await startFakeOpenAiServer();
  await fs.writeFile(
    path.join(dir, 'question.ogg'),
    await spokenVoiceNote(dir, 'what is the weather like in paris today', 'q'),
  );
});

afterAll(async () => {
  await server?.close();
});

describe('june CLI', () => {
  it('ask "text" prints the answer and --speak writes a voice note', async () => {
    const r = await june(['ask', 'hello', 'there', '--speak', 'out.ogg']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(
      'You said: hello there. That is a fine thing to say. Is there anything else?',
    );
    const probe = await ffprobeBuffer(dir, await fs.readFile(path.join(dir, 'out.ogg')), 'probe.ogg');
    expect(probe).toMatchObject({ codec: 'opus', sampleRate: 48000, channels: 1 });
  });

  it('ask --audio --out --json prints transcript, text and timings as one JSON object', async () => {
    const r = await june(['ask', '--audio', 'question.ogg', '--out', 'reply.mp3', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      transcript: string;
      text: string;
      timings: Record<string, number>;
      audio: { format: string };
    };
    expect(out.transcript).toMatch(/^what is the weather like/);
    expect(out.text).toContain(out.transcript);
    expect(out.timings.sttMs).toBeGreaterThan(0);
    expect(out.timings.totalMs).toBeGreaterThan(out.timings.sttMs!);
    expect(out.audio.format).toBe('mp3');
    expect(
      (await ffprobeBuffer(dir, await fs.readFile(path.join(dir, 'reply.mp3')), 'probe.mp3')).codec,
    ).toBe('mp3');
  });

  it('ask --audio without --json prints the transcript, the answer and the timings', async () => {
    const r = await june(['ask', '--audio', 'question.ogg', '--out', 'reply.ogg']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^You said: what is the weather like/m);
    expect(r.stdout).toMatch(/^June: You said:/m);
    expect(r.stderr).toMatch(/timings: decode .* stt .* total/);
  });

  it('transcribe and speak work on their own', async () => {
    const s = await june(['speak', 'Good morning. The tea is ready.', '-o', 'speech.wav']);
    expect(s.code).toBe(0);
    expect((await ffprobeBuffer(dir, await fs.readFile(path.join(dir, 'speech.wav')), 'p.wav')).codec).toBe(
      'pcm_s16le',
    );
    const t = await june(['transcribe', 'question.ogg', '--json']);
    expect(t.code).toBe(0);
    const j = JSON.parse(t.stdout) as { text: string; provider: string; speechDetected: boolean };
    expect(j).toMatchObject({ provider: 'pocketsphinx', speechDetected: true });
    expect(j.text).toMatch(/weather/);
  });

  it('fails with a one-line reason and a non-zero code on bad input', async () => {
    await fs.writeFile(
      path.join(dir, 'junk.ogg'),
      Buffer.from('this is not audio at all, just text pretending'),
    );
    const bad = await june(['ask', '--audio', 'junk.ogg']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^june: .*audio/i);

    const missing = await june(['transcribe', 'nope.ogg']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read nope.ogg: ENOENT/);

    const config = await june(['config'], { JUNE_AUDIO_MAX_SECONDS: 'ten' });
    expect(config.code).toBe(78);
    expect(config.stderr).toMatch(/JUNE_AUDIO_MAX_SECONDS/);

    const down = await june(['ask', 'hi'], {
      JUNE_LLM_BASE_URL: 'http://127.0.0.1:59999/v1',
      JUNE_LLM_RETRIES: '0',
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/127\.0\.0\.1:59999/);
  });

  it('config redacts secrets and doctor reports what is missing with a fix', async () => {
    const c = await june(['config', '--json'], { JUNE_LLM_API_KEY: 'sk-very-secret' });
    expect(c.stdout).not.toContain('sk-very-secret');
    expect(JSON.parse(c.stdout)).toMatchObject({ llmApiKey: '[redacted]', llmBaseUrl: server.url });

    const ok = await june(['doctor', '--json']);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as { ok: boolean }).ok).toBe(true);
    const down = await june(['doctor'], { JUNE_LLM_BASE_URL: 'http://127.0.0.1:59999/v1' });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/FAIL\s+llm server .*ECONNREFUSED/);
    expect(down.stdout).toMatch(/fix: /);
  });

  it('models list shows the cache, and pull fails clearly when the hub is unreachable', async () => {
    const list = await june(['models', 'list', '--json']);
    expect(list.code).toBe(0);
    const models = JSON.parse(list.stdout) as Array<{ id: string; cached: boolean }>;
    expect(models.map((m) => m.id)).toEqual(expect.arrayContaining(['base.en', 'qwen3-0.6b']));
    expect(models.every((m) => !m.cached)).toBe(true);
    const p = await june(['models', 'path', 'base.en']);
    expect(p.stdout.trim().startsWith(path.join(dir, 'models'))).toBe(true);
    const pull = await june(['models', 'pull', 'tiny.en'], { JUNE_MODEL_BASE_URL: 'http://127.0.0.1:59999' });
    expect(pull.code).toBe(1);
    expect(pull.stderr).toMatch(/tiny\.en/);
    expect(pull.stderr.trim().split('\n').at(-1)).toMatch(/^june: /);
  });
});
