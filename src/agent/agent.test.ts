/**
 * The agent loop against a scripted OpenAI-compatible server (real HTTP, real streaming wire format,
 * June's real OpenAI provider) and the real bubblewrap sandbox: multi-step runs, every tool-call form,
 * malformed arguments, a looping model, a model that never finishes, and paths outside the workspace.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { scenarios } from '../../test/helpers/fake-openai-scenarios.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../../test/helpers/fake-openai-server.js';
import { hermesCall, nativeCalls, textOnly } from '../../test/helpers/fake-agent-scripts.js';
import { OpenAiLanguageModel } from '../providers/llm/openai.js';
import { BubblewrapSandbox, checkBubblewrap } from '../sandbox/bubblewrap.js';
import { DEFAULT_LIMITS } from '../sandbox/limits.js';
import { runAgent } from './loop.js';
import { agentMetrics } from './metrics.js';
import { readTrajectory } from './trajectory.js';
import { DEFAULT_AGENT_LIMITS, type AgentProgress, type AgentResult, type TrajectoryEvent } from './types.js';
import { applyRun, createRunDir, runDiff, snapshots } from './workspace.js';

const bwrap = await checkBubblewrap();

describe.skipIf(!bwrap.ok)('coding agent loop (scripted server, bubblewrap)', () => {
  let server: FakeOpenAiServer;
  let dataDir: string;
  let registry: Registry;
  const sandbox = new BubblewrapSandbox({ limits: { ...DEFAULT_LIMITS, timeoutMs: 30_000 } });

  beforeAll(async () => {
    server = await startFakeOpenAiServer({ models: ['Qwen3-Coder-Thinking'] });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-agent-'));
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    server.reset();
    registry = new Registry();
  });

  async function run(
    task: string,
    options: { project?: string; allowed?: string[]; maxSteps?: number; model?: string } = {},
  ): Promise<{ result: AgentResult; events: TrajectoryEvent[]; progress: AgentProgress[] }> {
    const model = new OpenAiLanguageModel({
      baseUrl: server.url,
      model: options.model ?? 'qwen3-coder',
      retries: 0,
    });
    const runDir = await createRunDir(dataDir, task, {
      ...(options.project ? { project: options.project, allowedProjects: options.allowed ?? [] } : {}),
    });
    const progress: AgentProgress[] = [];
    const result = await runAgent({
      task,
      model,
      sandbox,
      run: runDir,
      limits: { ...DEFAULT_AGENT_LIMITS, maxSteps: options.maxSteps ?? 10 },
      metrics: agentMetrics(registry),
      onProgress: (p) => progress.push(p),
    });
    return { result, events: readTrajectory(result.trajectory), progress };
  }

  it('writes, runs and finishes with streamed native tool calls; snapshots each change', async () => {
    server.enqueue(
      nativeCalls(
        [{ name: 'write_file', args: { path: 'hello.py', content: 'print("hello from june")\n' } }],
        {
          reasoning: 'I will write the script first.',
        },
      ),
      nativeCalls([{ name: 'execute_command', args: { command: 'python3 hello.py' } }]),
      nativeCalls([
        { name: 'edit_file', args: { path: 'hello.py', old_text: 'hello', new_text: 'goodbye' } },
      ]),
      nativeCalls([{ name: 'finish', args: { summary: 'Wrote hello.py and ran it.' } }]),
    );
    const { result, events, progress } = await run('write a hello script');
    expect(result.status).toBe('completed');
    expect(result.answer).toBe('Wrote hello.py and ran it.');
    expect(result.steps).toBe(4);
    expect(result.toolCalls).toBe(4);
    expect(result.diff).toContain('+print("goodbye from june")');

    const obs = events.filter((e) => e.type === 'observation');
    const exec = obs.find((e) => e.tool === 'execute_command')!;
    expect(exec.ok).toBe(true);
    expect(exec.content).toContain('hello from june');
    expect(exec.sandbox).toMatchObject({ exitCode: 0, timedOut: false });
    const model = events.filter((e) => e.type === 'model');
    expect(model[0]!.reasoning).toBe('I will write the script first.');
    expect(model[0]!.usage.promptTokens).toBeGreaterThan(0);

    // What the model was told in step 2: the tool result, paired with its call id.
    const second = server.chatRequests()[2]!.body!.messages!;
    const toolMsg = second.find((m) => m.role === 'tool' && String(m.content).includes('hello from june'));
    expect(toolMsg?.tool_call_id).toMatch(/^call_/);
    expect(server.chatRequests()[0]!.body!.tools!.map((t) => t.function.name)).toContain('execute_command');

    // One snapshot per step that changed files, plus the start; each step's diff can be shown.
    const runDir = path.dirname(result.trajectory);
    const snaps = await snapshots({
      id: '',
      dir: runDir,
      workspace: path.join(runDir, 'workspace'),
      gitDir: path.join(runDir, 'snapshots.git'),
      trajectory: result.trajectory,
    });
    expect(snaps.map((s) => s.step)).toEqual([0, 1, 3]);
    const step3 = await runDiff(
      {
        id: '',
        dir: runDir,
        workspace: path.join(runDir, 'workspace'),
        gitDir: path.join(runDir, 'snapshots.git'),
        trajectory: result.trajectory,
      },
      3,
    );
    expect(step3).toContain('-print("hello from june")');
    expect(progress.map((p) => p.activity)).toContain('running: python3 hello.py');

    const metrics = await registry.getMetricsAsJSON();
    const calls = metrics.find((m) => m.name === 'agent_tool_calls_total')!;
    expect(calls.values.find((v) => v.labels.tool === 'execute_command')?.value).toBe(1);
    expect(metrics.find((m) => m.name === 'agent_runs_total')!.values[0]).toMatchObject({
      labels: { status: 'completed' },
      value: 1,
    });
  });

  it('reads Hermes tags after </think>-only reasoning, and keeps the reasoning out of the answer', async () => {
    server.enqueue(
      hermesCall(
        'write_file',
        { path: 'notes.txt', content: 'one\n' },
        'Okay, the user wants a notes file. Write it.',
      ),
      hermesCall('finish', { summary: 'Created notes.txt.' }, 'Done, now summarise.'),
    );
    const { result, events } = await run('make a notes file', { model: 'Qwen3-Coder-Thinking' });
    expect(result.status).toBe('completed');
    expect(result.answer).toBe('Created notes.txt.');
    const model = events.filter((e) => e.type === 'model');
    expect(model[0]!.reasoning).toContain('the user wants a notes file');
    expect(model[0]!.content).not.toContain('</think>');
    expect(model[0]!.content).not.toContain('<tool_call>');
    expect(
      fs.readFileSync(path.join(path.dirname(result.trajectory), 'workspace', 'notes.txt'), 'utf8'),
    ).toBe('one\n');
  });

  it('turns malformed JSON arguments and broken Hermes blocks into error observations, then recovers', async () => {
    server.enqueue(
      nativeCalls([{ name: 'write_file', args: '{"path": "a.txt", "content": ' }]),
      scenarios.hermesMalformed(),
      nativeCalls([{ name: 'write_file', args: { path: 'a.txt', content: 'fixed' } }]),
      nativeCalls([{ name: 'finish', args: { summary: 'ok' } }]),
    );
    const { result, events } = await run('write a.txt');
    expect(result.status).toBe('completed');
    const bad = events.find((e) => e.type === 'observation' && !e.ok);
    expect(bad && bad.type === 'observation' ? bad.content : '').toMatch(/not valid JSON/);
    expect(events.some((e) => e.type === 'model' && e.error?.includes('could not be read'))).toBe(true);
    const errors = (await registry.getMetricsAsJSON()).find((m) => m.name === 'agent_format_errors_total')!;
    expect(errors.values[0]!.value).toBe(2);
  });

  it('nudges a looping model once, then stops it as stuck', async () => {
    for (let i = 0; i < 4; i++) server.enqueue(nativeCalls([{ name: 'list_files', args: { pattern: '*' } }]));
    const { result, events } = await run('loop');
    expect(result.status).toBe('stuck');
    expect(result.steps).toBe(3);
    expect(events.some((e) => e.type === 'note' && e.text.startsWith('nudged'))).toBe(true);
    const third = server.chatRequests()[2]!.body!.messages!;
    expect(String(third.at(-1)!.content)).toContain('You are repeating yourself');
  });

  it('stops a model that never calls a tool after three format errors, and one that never finishes at max steps', async () => {
    server.enqueue(textOnly('I think'), textOnly('the answer'), textOnly('is 42'));
    const chatty = await run('answer');
    expect(chatty.result.status).toBe('format_errors');
    expect(chatty.result.steps).toBe(3);

    server.reset();
    for (let i = 0; i < 3; i++)
      server.enqueue(nativeCalls([{ name: 'write_file', args: { path: `f${i}.txt`, content: String(i) } }]));
    const busy = await run('never done', { maxSteps: 3 });
    expect(busy.result.status).toBe('max_steps');
    expect(busy.result.answer).toMatch(/stopped after 3 steps/);
    expect(busy.result.diff).toContain('f2.txt');
  });

  it('refuses paths outside the workspace, symlinks out included, and leaves the host unchanged', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'june-outside-'));
    const target = path.join(outside, 'secret.txt');
    fs.writeFileSync(target, 'host secret');
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'june-project-'));
    fs.symlinkSync(target, path.join(project, 'link.txt'));
    fs.writeFileSync(path.join(project, 'main.py'), 'x = 1\n');
    server.enqueue(
      nativeCalls([
        { name: 'read_file', args: { path: target } },
        { name: 'write_file', args: { path: '../escape.txt', content: 'x' } },
        { name: 'write_file', args: { path: 'link.txt', content: 'pwned' } },
        { name: 'read_file', args: { path: 'link.txt' } },
      ]),
      nativeCalls([{ name: 'edit_file', args: { path: 'main.py', old_text: 'x = 1', new_text: 'x = 2' } }]),
      nativeCalls([{ name: 'finish', args: { summary: 'changed x' } }]),
    );
    const { result, events } = await run('escape', { project, allowed: [path.dirname(project)] });
    expect(result.status).toBe('completed');
    const obs = events.filter((e) => e.type === 'observation').slice(0, 4);
    expect(obs.map((e) => e.ok)).toEqual([false, false, false, false]);
    expect(obs.map((e) => e.content).join('\n')).not.toContain('host secret');
    expect(fs.readFileSync(target, 'utf8')).toBe('host secret');
    expect(fs.existsSync(path.join(dataDir, 'agent', 'runs', result.runId, 'escape.txt'))).toBe(false);
    // The project itself is untouched until the patch is applied.
    expect(fs.readFileSync(path.join(project, 'main.py'), 'utf8')).toBe('x = 1\n');
    const runDir = path.dirname(result.trajectory);
    const applied = await applyRun({
      id: result.runId,
      dir: runDir,
      workspace: path.join(runDir, 'workspace'),
      gitDir: path.join(runDir, 'snapshots.git'),
      trajectory: result.trajectory,
      project: fs.realpathSync(project),
    });
    expect(applied.files).toEqual(['main.py']);
    expect(fs.readFileSync(path.join(project, 'main.py'), 'utf8')).toBe('x = 2\n');
  });

  it('refuses a project that is not in the allow-list', async () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'june-project-'));
    await expect(
      createRunDir(dataDir, 't', { project, allowedProjects: ['/nonexistent-root'] }),
    ).rejects.toThrow(/JUNE_AGENT_PROJECTS/);
  });
});
