/**
 * Worker containers on a Docker host, through the Docker Engine API (dockerode, loaded lazily: only
 * `june autoscale` needs it). Workers are the containers labelled june.role=worker; a pool is those with
 * the same june.capabilities label (compose.yaml sets both). Scaling up starts a stopped container of the
 * pool, else creates a copy of one (same image, command, environment, volumes, network and service
 * alias); scaling down stops the newest running ones, with a timeout longer than the worker's drain, and
 * keeps them stopped for the next scale-up (a pool at zero still has its template).
 */
import type Dockerode from 'dockerode';
import { JuneError } from '../../util/errors.js';

export const ROLE_LABEL = 'june.role';
export const CAPABILITIES_LABEL = 'june.capabilities';
export const AUTOSCALED_LABEL = 'june.autoscaled';

export interface WorkerContainer {
  id: string;
  name: string;
  running: boolean;
  created: number;
}

export interface Pool {
  /** The june.capabilities label, e.g. "voice,chat". */
  key: string;
  capabilities: string[];
  containers: WorkerContainer[];
  /** --concurrency from the containers' command, if they name it. */
  concurrency?: number;
}

export class DockerUnavailableError extends JuneError {
  constructor(where: string, detail: string, cause?: unknown) {
    super(`Docker Engine API at ${where}: ${detail}`, {
      code: 'autoscale_docker_unavailable',
      userMessage: `The Docker engine at ${where} did not answer (${detail}); is Docker running and is its socket readable?`,
      cause,
    });
  }
}

export interface DockerPoolsOptions {
  /** The engine's Unix socket (default /var/run/docker.sock). */
  socketPath?: string;
  /** Seconds `docker stop` waits before killing: longer than the workers' --drain-timeout. */
  stopTimeoutS?: number;
}

export class DockerPools {
  private constructor(
    private readonly docker: Dockerode,
    private readonly where: string,
    private readonly stopTimeoutS: number,
  ) {}

  static async connect(options: DockerPoolsOptions = {}): Promise<DockerPools> {
    const { default: Docker } = await import('dockerode');
    const socketPath = options.socketPath ?? '/var/run/docker.sock';
    return new DockerPools(new Docker({ socketPath }), socketPath, options.stopTimeoutS ?? 45);
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const e = err as { statusCode?: number; json?: { message?: string }; message?: string };
      const detail = e.json?.message ?? e.message ?? String(err);
      throw new DockerUnavailableError(
        this.where,
        `${what}: ${e.statusCode ? `HTTP ${e.statusCode} ` : ''}${detail}`,
        err,
      );
    }
  }

  async pools(): Promise<Pool[]> {
    const list = await this.call('listing containers', () =>
      this.docker.listContainers({ all: true, filters: { label: [`${ROLE_LABEL}=worker`] } }),
    );
    const pools = new Map<string, Pool>();
    for (const c of list) {
      const key = c.Labels[CAPABILITIES_LABEL];
      if (!key) continue;
      const capabilities = key
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const pool = pools.get(key) ?? { key, capabilities, containers: [] };
      pools.set(key, pool);
      pool.containers.push({
        id: c.Id,
        name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
        running: c.State === 'running',
        created: c.Created,
      });
      const concurrency = concurrencyOf(c.Command);
      if (concurrency !== undefined) pool.concurrency = concurrency;
    }
    return [...pools.values()].sort((a, b) => a.key.localeCompare(b.key));
  }

  /** Starts `count` more workers in the pool; returns the names of the containers started. */
  async scaleUp(pool: Pool, count: number): Promise<string[]> {
    const started: string[] = [];
    const stopped = pool.containers.filter((c) => !c.running).sort((a, b) => a.created - b.created);
    for (const c of stopped.slice(0, count)) {
      await this.call(`starting ${c.name}`, () => this.docker.getContainer(c.id).start());
      started.push(c.name);
    }
    const template = pool.containers.find((c) => c.running) ?? pool.containers[0];
    if (started.length < count && !template)
      throw new DockerUnavailableError(this.where, `pool ${pool.key} has no container to copy`);
    while (started.length < count) {
      const info = await this.call(`inspecting ${template!.name}`, () =>
        this.docker.getContainer(template!.id).inspect(),
      );
      const name = `${info.Name.replace(/^\//, '').replace(/-as-[a-z0-9]+$/, '')}-as-${Date.now().toString(36)}${started.length}`;
      const created = await this.call(`creating ${name}`, () =>
        this.docker.createContainer(copyOf(info, name)),
      );
      await this.call(`starting ${name}`, () => created.start());
      started.push(name);
    }
    return started;
  }

  /** Stops the `count` newest running workers of the pool (they drain first); returns their names. */
  async scaleDown(pool: Pool, count: number): Promise<string[]> {
    const victims = pool.containers
      .filter((c) => c.running)
      .sort((a, b) => b.created - a.created)
      .slice(0, count);
    for (const c of victims)
      await this.call(`stopping ${c.name}`, () =>
        this.docker.getContainer(c.id).stop({ t: this.stopTimeoutS }),
      );
    return victims.map((c) => c.name);
  }
}

function concurrencyOf(command: string | undefined): number | undefined {
  const m = /--concurrency[ =](\d+)/.exec(command ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Create options for a copy of `info`: same image, command, environment, mounts, network and alias. */
function copyOf(info: Dockerode.ContainerInspectInfo, name: string): Dockerode.ContainerCreateOptions {
  const labels: Record<string, string> = { [AUTOSCALED_LABEL]: 'true' };
  // compose's own labels would make compose count the copy as one of its replicas
  for (const [k, v] of Object.entries(info.Config.Labels ?? {}))
    if (!k.startsWith('com.docker.compose.')) labels[k] = v;
  const { PortBindings: _ports, ...hostConfig } = info.HostConfig;
  const shortId = info.Id.slice(0, 12);
  const [networkName, network] = Object.entries(info.NetworkSettings.Networks ?? {})[0] ?? [];
  return {
    name,
    Image: info.Config.Image,
    Cmd: info.Config.Cmd ?? undefined,
    Entrypoint: info.Config.Entrypoint ?? undefined,
    Env: info.Config.Env,
    User: info.Config.User,
    WorkingDir: info.Config.WorkingDir,
    Labels: labels,
    StopSignal: (info.Config as { StopSignal?: string }).StopSignal,
    Healthcheck: info.Config.Healthcheck,
    HostConfig: hostConfig,
    NetworkingConfig:
      networkName && network
        ? {
            EndpointsConfig: {
              [networkName]: {
                Aliases: ((network.Aliases ?? []) as string[]).filter(
                  (a) => a !== shortId && a !== info.Name.replace(/^\//, ''),
                ),
              },
            },
          }
        : undefined,
  };
}
