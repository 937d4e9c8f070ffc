/**
 * `npm run bench:agent`: what the coding agent costs beyond the model and the commands.
 *  - execute_command("true") round trip through each sandbox available here (Sandbox.exec, and the whole
 *    tool call: argument parsing, sandbox, observation);
 *  - June's overhead per agent step (wall time minus model time minus command time), for steps that only
 *    read (no snapshot) and for steps that run a command (a snapshot check: a workspace fingerprint, git
 *    only when it changed); bubblewrap is measured with native/sandbox-launch and with the old chain;
 *  - a 20-step scripted run end to end, against the scripted OpenAI-compatible server over real HTTP.
 * Writes bench/results/agent.{json,md} with the machine and its load average.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { nativeCalls } from '../test/helpers/fake-agent-scripts.js';
import { startFakeOpenAiServer } from '../test/helpers/fake-openai-server.js';
import { runAgent } from '../src/agent/loop.js';
import { agentMetrics } from '../src/agent/metrics.js';
import { parseCall, runTool } from '../src/agent/tools.js';
import { DEFAULT_AGENT_LIMITS } from '../src/agent/types.js';
import { createRunDir } from '../src/agent/workspace.js';
import { OpenAiLanguageModel } from '../src/providers/llm/openai.js';
import { BubblewrapSandbox, checkBubblewrap } from '../src/sandbox/bubblewrap.js';
import { checkDockerEngine, dockerClientEnv, DockerSandbox } from '../src/sandbox/docker.js';
import { DEFAULT_LIMITS } from '../src/sandbox/limits.js';
import { UnsandboxedRunner } from '../src/sandbox/none.js';
import type { Sandbox } from '../src/sandbox/types.js';
import { machineInfo, machineMarkdown, percentile } from './machine.js';

const REPS = Number(process.env.BENCH_REPS ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const machine = machineInfo();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'june-bench-agent-'));
const round = (n: number) => Math.round(n * 100) / 100;

/** `chain`: the old launch path (sh → setpriv → GNU time) instead of native/sandbox-launch, for comparison. */
const sandboxes: { name: string; sandbox?: Sandbox; note?: string; launcher?: 'chain' }[] = [];
const bw = await checkBubblewrap();
sandboxes.push(
  bw.ok
    ? { name: 'bubblewrap', sandbox: new BubblewrapSandbox({ limits: DEFAULT_LIMITS }) }
    : { name: 'bubblewrap', note: bw.detail },
);
if (bw.ok)
  sandboxes.push({
    name: 'bubblewrap, old launch chain (sh → setpriv → time)',
    sandbox: new BubblewrapSandbox({ limits: DEFAULT_LIMITS }),
    launcher: 'chain',
  });
const dk = await checkDockerEngine(dockerClientEnv(process.env));
sandboxes.push(
  dk.ok
    ? { name: 'docker', sandbox: new DockerSandbox({ limits: DEFAULT_LIMITS, image: 'python:3.12-slim' }) }
    : { name: 'docker', note: dk.detail },
);
sandboxes.push({ name: 'none', sandbox: new UnsandboxedRunner({ limits: DEFAULT_LIMITS }) });

interface RoundTrip {
  sandbox: string;
  execP50?: number;
  execP95?: number;
  toolP50?: number;
  toolP95?: number;
  note?: string;
}
const roundTrips: RoundTrip[] = [];
/** Launch path per sandbox row; rows are measured interleaved (one call each per round), so load drifts hit all alike. */
const useLauncher = (s: (typeof sandboxes)[number]) => {
  if (s.launcher) process.env.JUNE_SANDBOX_LAUNCHER = s.launcher;
  else delete process.env.JUNE_SANDBOX_LAUNCHER;
};
const measured = sandboxes
  .filter((s) => s.sandbox)
  .map((s, i) => {
    const ws = fs.mkdtempSync(path.join(tmp, `ws-${i}-`));
    fs.chmodSync(ws, 0o755);
    return { s, sandbox: s.sandbox!, ws, exec: [] as number[], tool: [] as number[] };
  });
for (const m of measured) {
  useLauncher(m.s);
  for (let i = 0; i < 3; i++) await m.sandbox.exec(['true'], { workspace: m.ws }); // warm-up
}
for (let i = 0; i < REPS; i++) {
  for (const m of measured) {
    useLauncher(m.s);
    let t = performance.now();
    await m.sandbox.exec(['true'], { workspace: m.ws });
    m.exec.push(performance.now() - t);
    t = performance.now();
    const parsed = parseCall('execute_command', '{"command": "true"}');
    if ('error' in parsed) throw new Error(parsed.error);
    await runTool('execute_command', parsed.args, {
      workspace: m.ws,
      sandbox: m.sandbox,
      commandTimeoutMs: 60_000,
    });
    m.tool.push(performance.now() - t);
  }
}
for (const s of sandboxes) {
  const m = measured.find((x) => x.s === s);
  if (!m) {
    roundTrips.push({ sandbox: s.name, note: `not measured: ${s.note}` });
    continue;
  }
  roundTrips.push({
    sandbox: s.name,
    execP50: round(percentile(m.exec, 50)),
    execP95: round(percentile(m.exec, 95)),
    toolP50: round(percentile(m.tool, 50)),
    toolP95: round(percentile(m.tool, 95)),
  });
  console.log(roundTrips.at(-1));
}
delete process.env.JUNE_SANDBOX_LAUNCHER;

const server = await startFakeOpenAiServer({ models: ['bench-coder'] });
const model = new OpenAiLanguageModel({ baseUrl: server.url, model: 'bench-coder', retries: 0 });
const bwrapSandbox = sandboxes.find((s) => s.name === 'bubblewrap')?.sandbox ?? sandboxes.at(-1)!.sandbox!;

interface ScriptedRun {
  kind: string;
  totalMs: number;
  modelMs: number;
  commandMs: number;
  overheadPerStepMs: number;
}
async function scriptedRun(kind: 'read' | 'command', steps: number): Promise<ScriptedRun> {
  const run = await createRunDir(path.join(tmp, 'data'), `bench ${kind}`);
  fs.writeFileSync(path.join(run.workspace, 'a.txt'), 'some text\n'.repeat(50));
  for (let i = 1; i < steps; i++) {
    server.enqueue(
      kind === 'read'
        ? nativeCalls([{ name: 'read_file', args: { path: 'a.txt', start_line: i, end_line: i + 5 } }])
        : nativeCalls([{ name: 'execute_command', args: { command: `true ${i}` } }]),
    );
  }
  server.enqueue(nativeCalls([{ name: 'finish', args: { summary: 'done' } }]));
  const r = await runAgent({
    task: 'bench',
    model,
    sandbox: bwrapSandbox,
    run,
    limits: { ...DEFAULT_AGENT_LIMITS, maxSteps: steps },
    metrics: agentMetrics(new Registry()),
  });
  if (r.status !== 'completed' || r.steps !== steps)
    throw new Error(`run ended ${r.status} after ${r.steps} steps`);
  return {
    kind,
    totalMs: round(r.timings.totalMs),
    modelMs: round(r.timings.modelMs),
    commandMs: round(r.timings.commandMs),
    overheadPerStepMs: round(r.timings.overheadMs / r.steps),
  };
}

const runs: ScriptedRun[] = [];
for (let i = 0; i < RUNS; i++) {
  runs.push(await scriptedRun('read', 20));
  runs.push(await scriptedRun('command', 20));
  console.log(runs.slice(-2));
}
await server.close();

const of = (kind: string) => runs.filter((r) => r.kind === kind);
const summary = {
  machine,
  loadAverageAtEnd: os.loadavg().map(round),
  reps: REPS,
  runs: RUNS,
  roundTrips,
  overheadPerStepP50: {
    read: percentile(
      of('read').map((r) => r.overheadPerStepMs),
      50,
    ),
    command: percentile(
      of('command').map((r) => r.overheadPerStepMs),
      50,
    ),
  },
  twentyStepRunMsP50: {
    read: percentile(
      of('read').map((r) => r.totalMs),
      50,
    ),
    command: percentile(
      of('command').map((r) => r.totalMs),
      50,
    ),
  },
  scriptedRuns: runs,
};
fs.mkdirSync('bench/results', { recursive: true });
fs.writeFileSync('bench/results/agent.json', JSON.stringify(summary, null, 2) + '\n');
const bwRt = roundTrips.find((r) => r.sandbox === 'bubblewrap');
const md = [
  '# Coding agent benchmark',
  '',
  "Scripted OpenAI-compatible server on 127.0.0.1 (real HTTP and SSE, June's OpenAI provider), real sandboxes.",
  'Run with tsx (TypeScript transpiled on load). Overhead per step = run wall time − model time − command time,',
  'divided by the steps; it includes the trajectory writes, the tool work done by June itself (reading files)',
  'and, for command steps, the snapshot check (an in-process fingerprint of the workspace; git runs only when it changed).',
  'Commands start through native/sandbox-launch (one process for the cgroup entry, death signal and rusage);',
  'the "old launch chain" row is the same sandbox started the previous way (sh → setpriv → GNU time); the rows are',
  'measured interleaved, one call each per round. Everything here follows the machine load (2 cores shared): read it with the load.',
  '',
  machineMarkdown(machine),
  `- load average at end: ${summary.loadAverageAtEnd.join(', ')}`,
  '',
  `## execute_command("true") round trip (${REPS} each, after 3 warm-up runs)`,
  '',
  '| sandbox | Sandbox.exec p50 ms | p95 ms | whole tool call p50 ms | p95 ms |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...roundTrips.map((r) =>
    r.note
      ? `| ${r.sandbox} | ${r.note} | | | |`
      : `| ${r.sandbox} | ${r.execP50} | ${r.execP95} | ${r.toolP50} | ${r.toolP95} |`,
  ),
  '',
  `## 20-step scripted runs (${RUNS} of each kind, bubblewrap)`,
  '',
  '| steps | total ms | model ms | command ms | June overhead per step ms |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...runs.map(
    (r) =>
      `| 19 × ${r.kind === 'read' ? 'read_file' : 'execute_command'} + finish | ${r.totalMs} | ${r.modelMs} | ${r.commandMs} | ${r.overheadPerStepMs} |`,
  ),
  '',
  '| target | measured (p50) | met |',
  '| --- | ---: | --- |',
  `| June overhead per agent step ≤ 5 ms (read steps, no snapshot) | ${summary.overheadPerStepP50.read} ms | ${summary.overheadPerStepP50.read <= 5 ? 'yes' : 'no'} |`,
  `| June overhead per agent step ≤ 5 ms (command steps, with snapshot check) | ${summary.overheadPerStepP50.command} ms | ${summary.overheadPerStepP50.command <= 5 ? 'yes' : 'no'} |`,
  `| execute_command("true") through bubblewrap p50 ≤ 25 ms | ${bwRt?.toolP50 ?? 'n/a'} ms | ${bwRt?.toolP50 !== undefined && bwRt.toolP50 <= 25 ? 'yes' : 'no'} |`,
  '',
].join('\n');
fs.writeFileSync('bench/results/agent.md', md);
console.log(md);
fs.rmSync(tmp, { recursive: true, force: true });
