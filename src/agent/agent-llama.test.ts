/**
 * The agent loop on the embedded llama path: a tiny generated GGUF whose weights are scripted to write a
 * Hermes tool call, run by llama.cpp through June's LlamaLanguageModel, the call executed in the real
 * bubblewrap sandbox (node-llama-cpp constrains the arguments with a grammar, so they may gain keys or
 * characters: the file written may be named "out.txt" plus a stray character). With greedy decoding
 * the script cannot change between turns, so the model repeats the call: the loop nudges it, then stops it
 * as stuck, which is the run's expected end here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyGguf } from '../../test/helpers/tiny-gguf.js';
import { LlamaLanguageModel } from '../providers/llm/llama.js';
import { BubblewrapSandbox, checkBubblewrap } from '../sandbox/bubblewrap.js';
import { DEFAULT_LIMITS } from '../sandbox/limits.js';
import { runAgent } from './loop.js';
import { agentMetrics } from './metrics.js';
import { readTrajectory } from './trajectory.js';
import { DEFAULT_AGENT_LIMITS } from './types.js';
import { createRunDir } from './workspace.js';

const bwrap = await checkBubblewrap();

describe.skipIf(!bwrap.ok)('coding agent on the embedded llama (tiny GGUF)', () => {
  let dir: string;
  let model: LlamaLanguageModel;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-agent-llama-'));
    const gguf = path.join(dir, 'coder.gguf');
    await writeTinyGguf(gguf, {
      contextLength: 8192,
      script: [
        '<tool_call>',
        '\n{"name": "',
        'execute_command',
        '", "arguments": ',
        '{"',
        'command',
        '": "',
        'echo made by llama > out.txt',
        '"}',
        '}\n',
        '</tool_call>',
        '<|im_end|>',
      ],
    });
    model = new LlamaLanguageModel({
      modelPath: gguf,
      contextSize: 8192,
      threads: 1,
      maxTokens: 64,
      temperature: 0,
    });
    await model.load();
  });
  afterAll(async () => {
    await model?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the tool call the model writes in the sandbox, then stops a model that says nothing more', async () => {
    const run = await createRunDir(path.join(dir, 'data'), 'make out.txt');
    const result = await runAgent({
      task: 'make out.txt',
      model,
      sandbox: new BubblewrapSandbox({ limits: DEFAULT_LIMITS }),
      run,
      limits: { ...DEFAULT_AGENT_LIMITS, maxSteps: 5, contextTokens: 8192 },
      metrics: agentMetrics(new Registry()),
      temperature: 0,
    });
    const made = fs.readdirSync(run.workspace).filter((f) => f.startsWith('out.txt'));
    expect(made).toHaveLength(1);
    expect(fs.readFileSync(path.join(run.workspace, made[0]!), 'utf8')).toBe('made by llama\n');
    const events = readTrajectory(result.trajectory);
    const first = events.find((e) => e.type === 'model');
    expect(first?.type === 'model' && first.toolCalls[0]?.name).toBe('execute_command');
    const obs = events.find((e) => e.type === 'observation');
    expect(obs).toMatchObject({ tool: 'execute_command', ok: true, sandbox: { exitCode: 0 } });
    // Greedy decoding follows the script again after the tool result: the same call, nudged, then stuck.
    expect(result.status).toBe('stuck');
    expect(result.steps).toBe(3);
  });
});
