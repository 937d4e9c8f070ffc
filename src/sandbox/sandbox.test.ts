/**
 * Runs the sandbox behaviour suite against every backend that works on this machine: bubblewrap when it
 * can create namespaces, Docker when an engine answers, and `none` always (its resource limits must
 * hold even though it isolates nothing).
 */
import { describe, it } from 'vitest';
import { BubblewrapSandbox, checkBubblewrap } from './bubblewrap.js';
import { checkDockerEngine, dockerClientEnv, DockerSandbox } from './docker.js';
import { DEFAULT_LIMITS } from './limits.js';
import { UnsandboxedRunner } from './none.js';
import { describeSandboxBehaviour } from './sandbox.behaviour.js';

const limits = { ...DEFAULT_LIMITS, maxProcesses: 64 };
const bwrap = await checkBubblewrap();
const docker = await checkDockerEngine(dockerClientEnv(process.env));

if (bwrap.ok)
  describeSandboxBehaviour('bubblewrap', () => new BubblewrapSandbox({ limits }), { isolates: true });
else
  describe.skip(`Sandbox behaviour: bubblewrap (${bwrap.detail})`, () => it('needs bwrap', () => undefined));

if (docker.ok)
  describeSandboxBehaviour('docker', () => new DockerSandbox({ limits, image: 'python:3.12-slim' }), {
    isolates: true,
  });
else
  describe.skip(`Sandbox behaviour: docker (${docker.detail})`, () => it('needs an engine', () => undefined));

describeSandboxBehaviour('none', () => new UnsandboxedRunner({ limits }), { isolates: false });
