/**
 * A local Docker Engine API server on a Unix socket, for `june autoscale` tests (no Docker engine runs
 * here). It speaks the real wire protocol for the calls the autoscaler makes: GET /_ping,
 * GET /containers/json (all, label filters), GET /containers/{id}/json, POST /containers/create?name=,
 * POST /containers/{id}/start and /stop?t=, with the API's status codes (201, 204, 304, 404, 409) and
 * error bodies ({"message": …}). Paths may carry a version prefix (/v1.47/…). Every request is recorded.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

export interface FakeContainer {
  Id: string;
  Name: string;
  Created: number;
  State: 'created' | 'running' | 'exited';
  Config: {
    Image: string;
    Cmd: string[];
    Entrypoint: string[] | null;
    Env: string[];
    Labels: Record<string, string>;
    User: string;
    WorkingDir: string;
    [key: string]: unknown;
  };
  HostConfig: Record<string, unknown>;
  NetworkSettings: { Networks: Record<string, { Aliases: string[] | null; [key: string]: unknown }> };
}

export interface EngineRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
}

export interface FakeDockerEngine {
  socketPath: string;
  containers: Map<string, FakeContainer>;
  requests: EngineRequest[];
  /** Adds a container as `docker compose up` would have made it. */
  add(
    c: Omit<Partial<FakeContainer>, 'Config'> & { Name: string; Config: Partial<FakeContainer['Config']> },
  ): FakeContainer;
  close(): Promise<void>;
}

let clock = 1_700_000_000;

export async function startFakeDockerEngine(socketPath: string): Promise<FakeDockerEngine> {
  const containers = new Map<string, FakeContainer>();
  const requests: EngineRequest[] = [];
  const byRef = (ref: string) =>
    containers.get(ref) ?? [...containers.values()].find((c) => c.Id.startsWith(ref) || c.Name === `/${ref}`);

  const add: FakeDockerEngine['add'] = (c) => {
    const Id = crypto.randomBytes(32).toString('hex');
    const container: FakeContainer = {
      Id,
      Created: clock++,
      State: 'running',
      HostConfig: {},
      NetworkSettings: { Networks: {} },
      ...c,
      Name: c.Name.startsWith('/') ? c.Name : `/${c.Name}`,
      Config: {
        Image: 'june:latest',
        Cmd: [],
        Entrypoint: null,
        Env: [],
        Labels: {},
        User: '',
        WorkingDir: '',
        ...c.Config,
      },
    };
    containers.set(Id, container);
    return container;
  };

  const summary = (c: FakeContainer) => ({
    Id: c.Id,
    Names: [c.Name],
    Image: c.Config.Image,
    Command: [...(c.Config.Entrypoint ?? []), ...c.Config.Cmd].join(' '),
    Created: c.Created,
    State: c.State,
    Status: c.State === 'running' ? 'Up 5 minutes' : 'Exited (0) 1 minute ago',
    Labels: c.Config.Labels,
  });

  const matchesFilters = (c: FakeContainer, filters: Record<string, string[] | Record<string, boolean>>) => {
    const labels = filters.label;
    const wanted = Array.isArray(labels) ? labels : Object.keys(labels ?? {});
    return wanted.every((f) => {
      const [k, v] = f.split('=');
      return v === undefined ? k! in c.Config.Labels : c.Config.Labels[k!] === v;
    });
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://docker');
      const path = url.pathname.replace(/^\/v1\.\d+/, '');
      const query = Object.fromEntries(url.searchParams);
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = raw ? (JSON.parse(raw) as unknown) : undefined;
      requests.push({ method: req.method ?? 'GET', path, query, body });
      const send = (status: number, json?: unknown) => {
        if (json === undefined) res.writeHead(status).end();
        else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      };
      const fail = (status: number, message: string) => send(status, { message });

      if (req.method === 'GET' && path === '/_ping') return res.writeHead(200).end('OK');
      if (req.method === 'GET' && path === '/containers/json') {
        const filters = query.filters ? JSON.parse(query.filters) : {};
        const all = query.all === 'true' || query.all === '1';
        return send(
          200,
          [...containers.values()]
            .filter((c) => (all || c.State === 'running') && matchesFilters(c, filters))
            .map(summary),
        );
      }
      if (req.method === 'POST' && path === '/containers/create') {
        const spec = body as Record<string, unknown> & { Labels?: Record<string, string> };
        const name = query.name;
        if (name && byRef(name))
          return fail(409, `Conflict. The container name "/${name}" is already in use`);
        if (!spec?.Image) return fail(400, 'config.Image: must be specified');
        const networks = (
          spec.NetworkingConfig as { EndpointsConfig?: Record<string, { Aliases?: string[] }> }
        )?.EndpointsConfig;
        const c = add({
          Name: name ?? `auto_${crypto.randomBytes(3).toString('hex')}`,
          State: 'created',
          Config: {
            Image: String(spec.Image),
            Cmd: (spec.Cmd as string[]) ?? [],
            Entrypoint: (spec.Entrypoint as string[]) ?? null,
            Env: (spec.Env as string[]) ?? [],
            Labels: spec.Labels ?? {},
            User: String(spec.User ?? ''),
            WorkingDir: String(spec.WorkingDir ?? ''),
          },
          HostConfig: (spec.HostConfig as Record<string, unknown>) ?? {},
          NetworkSettings: {
            Networks: Object.fromEntries(
              Object.entries(networks ?? {}).map(([n, e]) => [n, { Aliases: e.Aliases ?? null }]),
            ),
          },
        });
        return send(201, { Id: c.Id, Warnings: [] });
      }
      const m = /^\/containers\/([^/]+)(\/json|\/start|\/stop)$/.exec(path);
      const c = m ? byRef(decodeURIComponent(m[1]!)) : undefined;
      if (m && !c) return fail(404, `No such container: ${m[1]}`);
      if (c && req.method === 'GET' && m![2] === '/json')
        return send(200, { ...c, State: { Status: c.State, Running: c.State === 'running' } });
      if (c && req.method === 'POST' && m![2] === '/start') {
        if (c.State === 'running') return send(304);
        c.State = 'running';
        return send(204);
      }
      if (c && req.method === 'POST' && m![2] === '/stop') {
        if (c.State !== 'running') return send(304);
        c.State = 'exited';
        return send(204);
      }
      fail(404, `page not found: ${req.method} ${path}`);
    });
  });
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    socketPath,
    containers,
    requests,
    add,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
