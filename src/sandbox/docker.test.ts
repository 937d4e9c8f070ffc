/**
 * The Docker backend as far as it can be tested without an engine: the `docker run` arguments, and the
 * real docker client reporting an engine that does not answer (this machine has only the client; with an
 * engine, sandbox.test.ts runs the whole behaviour suite against it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDockerEngine, dockerClientEnv, dockerRunArgs, DockerSandbox } from './docker.js';
import { DEFAULT_LIMITS } from './limits.js';
import { SandboxError } from './types.js';

const hasClient = process.env.PATH?.split(':').some((d) => fs.existsSync(path.join(d, 'docker'))) ?? false;

describe('docker sandbox', () => {
  it('builds a run with no network, limits, read-only root, no capabilities and the workspace mounted', () => {
    const args = dockerRunArgs({
      name: 'june-sbx-1',
      user: '1000:1000',
      image: 'python:3.12-slim',
      workspace: '/data/ws',
      network: false,
      env: { PATH: '/usr/bin', HOME: '/workspace' },
      limits: { ...DEFAULT_LIMITS, memoryMb: 512, maxProcesses: 64 },
      command: ['python3', '-c', 'print(1)'],
    });
    const pairs = (flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
    expect(args.slice(0, 3)).toEqual(['run', '--rm', '-i']);
    expect(pairs('--network')).toEqual(['none']);
    expect(pairs('--memory')).toEqual(['512m']);
    expect(pairs('--memory-swap')).toEqual(['512m']);
    expect(pairs('--pids-limit')).toEqual(['64']);
    expect(pairs('--cap-drop')).toEqual(['ALL']);
    expect(pairs('--security-opt')).toEqual(['no-new-privileges']);
    expect(pairs('--volume')).toEqual(['/data/ws:/workspace:rw']);
    expect(pairs('--user')).toEqual(['1000:1000']);
    expect(pairs('--env')).toEqual(['PATH=/usr/bin', 'HOME=/workspace']);
    expect(args).toContain('--read-only');
    expect(args.slice(-4)).toEqual(['python:3.12-slim', 'python3', '-c', 'print(1)']);
    const withNet = dockerRunArgs({
      name: 'n',
      user: '1:1',
      image: 'i',
      workspace: '/w',
      network: true,
      env: {},
      limits: DEFAULT_LIMITS,
      command: ['true'],
    });
    expect(withNet[withNet.indexOf('--network') + 1]).toBe('bridge');
  });

  it('passes the client only PATH, HOME and DOCKER_* (no June secret)', () => {
    const env = dockerClientEnv({
      PATH: '/bin',
      HOME: '/home/u',
      DOCKER_HOST: 'unix:///x.sock',
      JUNE_LLM_API_KEY: 'sk-secret',
    });
    expect(env).toEqual({ PATH: '/bin', HOME: '/home/u', DOCKER_HOST: 'unix:///x.sock' });
  });

  it.skipIf(!hasClient)(
    'the real client reports an engine that does not answer, and exec refuses',
    async () => {
      const sock = path.join(os.tmpdir(), `june-no-docker-${process.pid}.sock`);
      const env = { PATH: process.env.PATH ?? '/usr/bin', DOCKER_HOST: `unix://${sock}` };
      const check = await checkDockerEngine(env);
      expect(check.ok).toBe(false);
      expect(check.detail).toMatch(/not answering/);
      const sandbox = new DockerSandbox({
        limits: DEFAULT_LIMITS,
        image: 'python:3.12-slim',
        clientEnv: env,
      });
      await expect(sandbox.exec(['true'], { workspace: os.tmpdir() })).rejects.toBeInstanceOf(SandboxError);
    },
  );
});
