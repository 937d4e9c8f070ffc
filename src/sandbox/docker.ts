/**
 * The Docker backend, for machines where a Docker engine answers (and where bubblewrap cannot create
 * namespaces, e.g. inside another container). Each command is a `docker run --rm` with no network,
 * memory, swap and process limits, a read-only root filesystem, every capability dropped,
 * no-new-privileges, an unprivileged user, a size-capped /tmp and the workspace mounted at /workspace.
 * A timeout or cancel kills the client's process group and then the container by name (killing the
 * client alone would leave the container running). CPU and RSS of the container are not measured
 * (cpuMs and maxRssKb are null): they are the engine's, not the client's.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { containedLimits, runContained } from './contained.js';
import { baseEnv, limitsFor, type SandboxLimits } from './limits.js';
import { SandboxError, type ExecOptions, type ExecResult, type Sandbox } from './types.js';
import { handWorkspaceTo, runningAsRoot } from './workspace-owner.js';

export const DOCKER_BIN = 'docker';

export interface DockerOptions {
  limits: SandboxLimits;
  image: string;
  /** Environment of the docker client: PATH, HOME and DOCKER_* from the host, nothing else. */
  clientEnv?: Record<string, string>;
}

export class DockerSandbox implements Sandbox {
  readonly kind = 'docker' as const;
  readonly isolates = true;
  private readonly clientEnv: Record<string, string>;

  constructor(private readonly options: DockerOptions) {
    this.clientEnv = options.clientEnv ?? dockerClientEnv(process.env);
  }

  async exec(command: readonly string[], options: ExecOptions): Promise<ExecResult> {
    if (command.length === 0) throw new SandboxError('no command given');
    const engine = await checkDockerEngine(this.clientEnv);
    if (!engine.ok)
      throw new SandboxError(engine.detail, 'The Docker engine is not answering, so I cannot run commands.');
    const limits = limitsFor(this.options.limits, options);
    const name = `june-sbx-${randomUUID().slice(0, 12)}`;
    const workspace = path.resolve(options.workspace);
    // The container runs as June's own user, or as nobody when June is root (and the workspace is handed over).
    let user = `${process.getuid?.() ?? 65534}:${process.getgid?.() ?? 65534}`;
    if (runningAsRoot()) {
      await handWorkspaceTo(workspace, 65534, 65534);
      user = '65534:65534';
    }
    const argv = dockerRunArgs({
      name,
      user,
      image: this.options.image,
      workspace,
      network: options.network ?? false,
      env: baseEnv('/workspace', options.env),
      limits,
      command,
    });
    return runContained(
      {
        argv: [DOCKER_BIN, ...argv],
        env: this.clientEnv,
        cwd: '/',
        measure: false,
        onKill: () => dockerKill(name, this.clientEnv),
      },
      containedLimits(limits, workspace, options),
    );
  }
}

/** `docker run …` arguments (without the binary) for one command. */
export function dockerRunArgs(o: {
  name: string;
  user: string;
  image: string;
  workspace: string;
  network: boolean;
  env: Record<string, string>;
  limits: SandboxLimits;
  command: readonly string[];
}): string[] {
  const { limits } = o;
  const MB = 1024 * 1024;
  return [
    'run',
    '--rm',
    '-i',
    '--name',
    o.name,
    '--network',
    o.network ? 'bridge' : 'none',
    '--memory',
    `${limits.memoryMb}m`,
    '--memory-swap',
    `${limits.memoryMb}m`,
    '--pids-limit',
    String(limits.maxProcesses),
    '--ulimit',
    `cpu=${limits.cpuSeconds}`,
    '--ulimit',
    `fsize=${limits.fileSizeMb * MB}`,
    '--read-only',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--user',
    o.user,
    '--tmpfs',
    `/tmp:rw,nosuid,nodev,size=${Math.min(limits.diskMb, 512)}m`,
    '--volume',
    `${o.workspace}:/workspace:rw`,
    '--workdir',
    '/workspace',
    ...Object.entries(o.env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    '--',
    o.image,
    ...o.command,
  ];
}

/** PATH, HOME and the DOCKER_* variables the client needs to find its engine; nothing else. */
export function dockerClientEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = { PATH: env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  if (env.HOME) out.HOME = env.HOME;
  for (const [k, v] of Object.entries(env)) if (k.startsWith('DOCKER_') && v !== undefined) out[k] = v;
  return out;
}

/** Asks the engine for its version; "not answering" when the client is missing or the engine is down. */
export function checkDockerEngine(env: Record<string, string>): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    execFile(
      DOCKER_BIN,
      ['version', '--format', '{{.Server.Version}}'],
      { env, timeout: 10_000 },
      (err, stdout, stderr) => {
        if (!err && stdout.trim()) return resolve({ ok: true, detail: `Docker engine ${stdout.trim()}` });
        if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT')
          return resolve({ ok: false, detail: 'the docker client is not installed' });
        const why = stderr.trim().split('\n').pop() ?? err?.message ?? 'no answer';
        resolve({ ok: false, detail: `the Docker engine is not answering: ${why}` });
      },
    );
  });
}

function dockerKill(name: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolve) => {
    execFile(DOCKER_BIN, ['rm', '--force', name], { env, timeout: 30_000 }, () => resolve());
  });
}
