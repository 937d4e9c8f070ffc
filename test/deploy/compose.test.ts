/**
 * deploy/compose.yaml, checked with Debian's docker-compose (`config` validates and interpolates the file
 * without an engine), and deploy/.env.example against the variables the file uses.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEPLOY } from './deploy-files.js';
import { hasTool, missingToolMessage, run } from './tools.js';

const composeFile = path.join(DEPLOY, 'compose.yaml');
const envExample = fs.readFileSync(path.join(DEPLOY, '.env.example'), 'utf8');
const HAVE_COMPOSE = hasTool('docker-compose');
const PROFILES = ['whisper', 'kokoro', 'observability'];

/** `docker-compose config` with .env.example (plus `extra`) as the env file, in a clean environment. */
function composeConfig(extra: Record<string, string>, profiles: string[] = PROFILES) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-compose-'));
  const envFile = path.join(dir, 'env');
  const lines = envExample.split('\n').filter((l) => !Object.keys(extra).some((k) => l.startsWith(`${k}=`)));
  fs.writeFileSync(envFile, [...lines, ...Object.entries(extra).map(([k, v]) => `${k}=${v}`)].join('\n'));
  const args = [
    '--env-file',
    envFile,
    '-f',
    composeFile,
    ...profiles.flatMap((p) => ['--profile', p]),
    'config',
  ];
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
  try {
    return run('docker-compose', args, { env });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  profiles?: string[];
  deploy?: { resources?: { reservations?: { devices?: Array<{ capabilities: string[] }> } } };
  labels?: Record<string, string>;
}

const title = HAVE_COMPOSE ? 'docker-compose config' : missingToolMessage('docker-compose', 'docker-compose');

describe.skipIf(!HAVE_COMPOSE)(title, () => {
  let cached: { services: Record<string, Service>; volumes: Record<string, unknown> } | undefined;
  const rendered = () => {
    if (cached) return cached;
    const r = composeConfig({ JUNE_API_TOKENS: 'admin:compose-test-token' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    cached = parse(r.stdout) as typeof cached & object;
    return cached;
  };

  it('accepts the stack with every profile', () => {
    const { services, volumes } = rendered();
    expect(Object.keys(services).sort()).toEqual(
      [
        'grafana',
        'jaeger',
        'june',
        'june-worker',
        'kokoro',
        'otel-collector',
        'prometheus',
        'redis',
        'vllm',
        'whisper',
      ].sort(),
    );
    expect(Object.keys(volumes)).toEqual(expect.arrayContaining(['june-data', 'june-models', 'huggingface']));
    for (const name of ['whisper', 'kokoro']) expect(services[name]!.profiles).toEqual([name]);
    for (const name of ['prometheus', 'grafana', 'otel-collector', 'jaeger'])
      expect(services[name]!.profiles).toEqual(['observability']);
  });

  it('serves Qwen3-30B-A3B-Thinking FP8 on the GPU with the parsers that make June parsing exact', () => {
    const vllm = rendered().services.vllm!;
    const cmd = vllm.command!.join(' ');
    expect(cmd).toContain('--model Qwen/Qwen3-30B-A3B-Thinking-2507-FP8');
    expect(cmd).toContain('--served-model-name Qwen/Qwen3-30B-A3B-Thinking-2507');
    expect(cmd).toContain(
      '--reasoning-parser deepseek_r1 --enable-auto-tool-choice --tool-call-parser hermes',
    );
    expect(cmd).toContain('--max-model-len 65536');
    expect(vllm.deploy?.resources?.reservations?.devices?.[0]?.capabilities).toEqual(['gpu']);
    expect(vllm.healthcheck?.test.join(' ')).toContain('/health');
  });

  it('runs web and workers from one image on Redis, with the model name vLLM serves', () => {
    const { services } = rendered();
    const june = services.june!;
    const worker = services['june-worker']!;
    expect(june.image).toBe(worker.image);
    expect(june.command).toEqual(['start', '--no-workers']);
    expect(worker.command?.slice(0, 3)).toEqual(['worker', '--capabilities', 'voice,chat']);
    expect(worker.command).toEqual(expect.arrayContaining(['--metrics-port', '9464']));
    expect(worker.labels).toMatchObject({ 'june.role': 'worker', 'june.capabilities': 'voice,chat' });
    for (const s of [june, worker]) {
      expect(s.environment).toMatchObject({
        JUNE_QUEUE: 'bullmq',
        JUNE_REDIS_URL: 'redis://redis:6379',
        JUNE_LLM_BASE_URL: 'http://vllm:8000/v1',
        JUNE_LLM_MODEL: 'Qwen/Qwen3-30B-A3B-Thinking-2507',
      });
    }
    expect(worker.environment?.JUNE_HEALTH_URL).toBe('http://127.0.0.1:9464/metrics');
    expect(june.environment).toMatchObject({
      OTEL_SERVICE_NAME: 'june',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    });
    expect(worker.environment?.OTEL_SERVICE_NAME).toBe('june-worker');
    expect(june.environment?.JUNE_API_TOKENS).toBe('admin:compose-test-token');
    expect(services.redis!.command).toEqual(expect.arrayContaining(['--maxmemory-policy', 'noeviction']));
  });

  it('refuses to start without API tokens, naming the variable', () => {
    const r = composeConfig({ JUNE_API_TOKENS: '' }, []);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('set JUNE_API_TOKENS in deploy/.env');
  });
});

describe('deploy/.env.example', () => {
  const compose = fs.readFileSync(composeFile, 'utf8');
  const used = new Set([...compose.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
  const documented = [...envExample.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);

  it('documents every variable compose.yaml uses, each with a comment above it', () => {
    expect([...used].filter((v) => !documented.includes(v))).toEqual([]);
    const lines = envExample.split('\n');
    for (const v of documented) {
      let i = lines.findIndex((l) => l.startsWith(`${v}=`)) - 1;
      while (i >= 0 && /^[A-Z][A-Z0-9_]*=/.test(lines[i]!)) i--; // a group of variables under one comment
      expect(lines[i], `${v} has no comment`).toMatch(/^#/);
    }
  });

  it('documents nothing that compose.yaml does not use, and holds no secret', () => {
    expect(documented.filter((v) => !used.has(v))).toEqual([]);
    for (const secret of [
      'JUNE_API_TOKENS',
      'JUNE_TELEGRAM_TOKEN',
      'JUNE_DISCORD_TOKEN',
      'HF_TOKEN',
      'GRAFANA_ADMIN_PASSWORD',
    ])
      expect(envExample).toMatch(new RegExp(`^${secret}=$`, 'm'));
  });
});
