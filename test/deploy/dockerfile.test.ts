/**
 * The Dockerfile, checked without a Docker engine (none runs here): the project's lint rules
 * (dockerfile-lint.ts), and what the image must hold for June to run in every role.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './deploy-files.js';
import { ignored, lintDockerfile, parseDockerfile, stages } from './dockerfile-lint.js';

const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const dockerignore = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8');
const [builder, runtime] = stages(parseDockerfile(dockerfile));

const aptPackages = (stage: typeof builder) =>
  stage!.instructions
    .filter((i) => i.keyword === 'RUN' && i.args.includes('apt-get install'))
    .flatMap((i) => i.args.split(' '))
    .filter((w) => /^[a-z0-9][a-z0-9.+-]+$/.test(w));

describe('the Dockerfile', () => {
  it('passes the lint rules', () => {
    expect(lintDockerfile(dockerfile, ROOT, dockerignore)).toEqual([]);
  });

  it('builds in a builder stage and runs from a slim Node 20 stage with the engines June uses', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(builder?.name).toBe('builder');
    expect(aptPackages(builder)).toEqual(
      expect.arrayContaining(['build-essential', 'pkg-config', 'libpocketsphinx-dev', 'libsphinxbase-dev']),
    );
    // the runtime engines of scripts/setup.sh, and no compiler
    const setup = fs.readFileSync(path.join(ROOT, 'scripts/setup.sh'), 'utf8');
    for (const p of ['ffmpeg', 'espeak-ng', 'pocketsphinx', 'pocketsphinx-en-us', 'bubblewrap']) {
      expect(setup).toContain(p);
      expect(aptPackages(runtime)).toContain(p);
    }
    // the code sandbox and june eval run /usr/bin/python3 inside bubblewrap
    expect(aptPackages(runtime)).toContain('python3');
    expect(aptPackages(runtime)).not.toContain('build-essential');
    const runtimeCopies = runtime!.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(runtimeCopies.every((a) => a.startsWith('--from=builder'))).toBe(true);
    // the pocketsphinx helper is built in the builder and found through XDG_CACHE_HOME at run time
    expect(dockerfile).toMatch(/native\/build\.sh \/opt\/june\/cache\/june\/bin/);
    expect(dockerfile).toMatch(/XDG_CACHE_HOME=\/opt\/june\/cache/);
  });

  it('runs as a non-root user with /data and /models as volumes and a health check on /health', () => {
    const final = runtime!.instructions;
    const last = (k: string) => final.filter((i) => i.keyword === k).at(-1)!.args;
    expect(last('USER')).toBe('june:june');
    expect(JSON.parse(last('VOLUME'))).toEqual(['/data', '/models']);
    expect(last('ENV')).toMatch(/JUNE_DATA_DIR=\/data .*JUNE_MODELS_DIR=\/models/);
    expect(last('ENV')).toMatch(/JUNE_HEALTH_URL=http:\/\/127\.0\.0\.1:7117\/health/);
    expect(last('HEALTHCHECK')).toMatch(/CMD \["node", "-e", ".*process\.env\.JUNE_HEALTH_URL/);
    // one image, every role: the entrypoint is the june command, start by default
    expect(JSON.parse(last('ENTRYPOINT'))).toEqual(['/usr/bin/tini', '--', 'june']);
    expect(JSON.parse(last('CMD'))).toEqual(['start']);
  });

  it('leaves tests, git, local data and secrets out of the build context', () => {
    const patterns = dockerignore.split('\n').filter((l) => l && !l.startsWith('#'));
    for (const p of [
      '.git',
      'node_modules/x',
      'dist/cli/main.js',
      '.env',
      'deploy/.env',
      'test/e2e/a.test.ts',
    ])
      expect(ignored(p, patterns), p).toBe(true);
    for (const p of ['src/cli/main.ts', 'package-lock.json', 'native/build.sh', 'src/web/public/index.html'])
      expect(ignored(p, patterns), p).toBe(false);
    expect(ignored('src/tasks/runtime.test.ts', patterns)).toBe(true);
  });
});

describe('the lint rules', () => {
  it('find what makes an image unsafe, large or unreproducible', () => {
    const bad = [
      'FROM node:latest',
      'ADD https://example.org/x.tgz /x',
      'RUN apt-get install ffmpeg',
      'RUN curl -fsSL https://example.org/install.sh | sh',
      'COPY no-such-dir /app',
      'COPY node_modules /app/node_modules',
      'WORKDIR app',
      'CMD june start',
    ].join('\n');
    expect(lintDockerfile(bad, ROOT, 'node_modules\n')).toEqual([
      'not multi-stage: build tools must stay in a builder stage',
      'FROM node:latest: pin the base image to a tag',
      'line 2 (ADD): use COPY; ADD fetches URLs and unpacks archives',
      'line 3 (RUN): apt-get update in the same RUN as install',
      'line 3 (RUN): apt-get install --no-install-recommends',
      'line 3 (RUN): apt-get install -y',
      'line 3 (RUN): remove /var/lib/apt/lists in the same RUN',
      'line 4 (RUN): no piping downloads into a shell',
      'line 5 (COPY): no-such-dir does not exist',
      'line 6 (COPY): node_modules is in .dockerignore',
      'line 7 (WORKDIR): WORKDIR must be absolute',
      'the final stage must run as a non-root USER',
      'the final stage needs a HEALTHCHECK',
      'the final stage declares no VOLUME',
      'ENTRYPOINT must be in exec form (a JSON array)',
      'CMD must be in exec form (a JSON array)',
    ]);
  });

  it('join continuation lines and skip comments inside them', () => {
    const ins = parseDockerfile('FROM a:1 AS b\n# c\nRUN x \\\n  # inside\n  && y\n');
    expect(ins).toEqual([
      { line: 1, keyword: 'FROM', args: 'a:1 AS b' },
      { line: 3, keyword: 'RUN', args: 'x && y' },
    ]);
  });
});
