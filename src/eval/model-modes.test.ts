/**
 * `--mode completion` and `--mode agent` end to end against a scripted OpenAI-compatible server (real HTTP
 * and streaming, June's real OpenAI provider), the real checker sandbox and, for the agent, bubblewrap:
 * a thinking answer with prose and two code blocks is extracted and passes; a wrong answer fails with the
 * failing check; the agent writes, runs and finishes; n = 3 at a temperature gives pass@1; tokens and
 * cost are summed from the server's usage.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { streamOf } from '../../test/helpers/fake-openai-scenarios.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../../test/helpers/fake-openai-server.js';
import { nativeCalls } from '../../test/helpers/fake-agent-scripts.js';
import { configSchema } from '../config/schema.js';
import { OpenAiLanguageModel } from '../providers/llm/openai.js';
import { BubblewrapSandbox, checkBubblewrap } from '../sandbox/bubblewrap.js';
import { DEFAULT_LIMITS } from '../sandbox/limits.js';
import { renderReport } from './report.js';
import { runModelEval } from './run.js';
import { execJune } from '../../test/helpers/june-cli.js';
import type { EvalSummary } from './summary.js';
import { DATA_FILES, hasSharedData } from './test-data.js';
import type { SampleVerdict } from './types.js';

const bwrap = await checkBubblewrap();

/** A streamed answer: reasoning_content first (as vLLM's reasoning parser sends it), then the content. */
function answer(content: string, reasoning: string, usage: [number, number]) {
  const pieces = (s: string) => s.match(/[\s\S]{1,20}/g) ?? [];
  return streamOf(
    [
      ...pieces(reasoning).map((r) => ({ reasoning_content: r })),
      ...pieces(content).map((c) => ({ content: c })),
    ],
    { usage },
  );
}

const GOOD_2 = [
  'The fractional part is the number minus its integer part.',
  '',
  '```python',
  'def truncate_number(number: float) -> float:',
  '    """Return the decimal part."""',
  '    return number - int(number)',
  '',
  'if __name__ == "__main__":',
  '    print(truncate_number(3.5))',
  '```',
  '',
  'Example tests:',
  '',
  '```python',
  'assert truncate_number(3.5) == 0.5',
  'assert truncate_number(1.25) == 0.25',
  '```',
].join('\n');

const WRONG_2 = '```python\ndef truncate_number(number: float) -> float:\n    return 0.5\n```';

describe.skipIf(!hasSharedData || !bwrap.ok)('june eval --mode completion | agent (scripted server)', () => {
  let server: FakeOpenAiServer;
  let dir: string;
  const config = () =>
    configSchema.parse({
      dataDir: dir,
      modelsDir: dir,
      offline: true,
      llmTemperature: 0.6,
      evalPricePromptPerMTok: 1,
      evalPriceCompletionPerMTok: 2,
      agentMaxSteps: 8,
    });
  const model = (name = 'Qwen3-30B-A3B-Thinking-2507') =>
    new OpenAiLanguageModel({ baseUrl: server.url, model: name, retries: 0 });

  beforeAll(async () => {
    server = await startFakeOpenAiServer({ models: ['Qwen3-30B-A3B-Thinking-2507', 'plain-coder'] });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-eval-modes-'));
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => server.reset());

  it('completion: extracts the code after the reasoning, passes a right answer and fails a wrong one', async () => {
    server.enqueue(
      answer(GOOD_2, 'I think about the integer part first.', [150, 60]),
      answer(
        'Here it is:\n```python\nfrom typing import List\n\ndef mean_absolute_deviation(numbers: List[float]) -> float:\n    return 0.0\n```\n',
        'Hmm.',
        [200, 40],
      ),
    );
    const outDir = path.join(dir, 'completion');
    const { summary, verdicts } = await runModelEval(config(), {
      dataset: 'humaneval',
      mode: 'completion',
      model: model(),
      problemsFile: DATA_FILES.humaneval,
      tasks: ['HumanEval/2', 'HumanEval/4'],
      outDir,
      concurrency: 1,
      temperature: 0,
    });
    const [good, bad] = verdicts as SampleVerdict[];
    expect(good).toMatchObject({ task_id: 'HumanEval/2', sample: 0, status: 'pass', mode: 'completion' });
    const code = fs.readFileSync(path.join(outDir, good!.code_file!), 'utf8');
    expect(code).toBe(
      'def truncate_number(number: float) -> float:\n    """Return the decimal part."""\n    return number - int(number)',
    );
    const saved = JSON.parse(fs.readFileSync(path.join(outDir, good!.answer_file!), 'utf8')) as {
      reasoning: string;
      text: string;
      prompt: string;
      maxTokens: number;
    };
    expect(saved.reasoning).toBe('I think about the integer part first.');
    expect(saved.text).toBe(GOOD_2);
    expect(saved.prompt).toContain(
      'Please provide a self-contained Python script that solves the following problem in a markdown code block:',
    );
    expect(saved.prompt).toContain('def truncate_number(number: float) -> float:');
    expect(saved.maxTokens).toBe(32_768); // a thinking model by its name gets the large budget

    expect(bad).toMatchObject({ task_id: 'HumanEval/4', status: 'fail' });
    // the first failing check, with its input, the expected and the actual value
    expect(bad!.detail).toMatchObject({
      input: 'candidate([1.0, 2.0, 3.0])',
      expected: '0.6666666666666666',
      actual: '0.0',
    });

    // what the server was asked: one user message with the instruct prompt, temperature, the budget
    const bodies = server.chatRequests().map((r) => r.body!);
    expect(bodies).toHaveLength(2);
    expect(bodies[0]!.temperature).toBe(0);
    expect(bodies[0]!.max_tokens).toBe(32_768);
    expect(bodies[0]!.messages).toHaveLength(1);

    // tokens from the usage chunks; reasoning estimated from its text; cost at 1 $/M prompt, 2 $/M completion
    expect(good!.metrics!.tokens).toMatchObject({ prompt: 150, completion: 60 });
    expect(good!.metrics!.tokens.reasoning).toBe(
      Math.ceil('I think about the integer part first.'.length / 4),
    );
    expect(good!.metrics!.costUsd).toBeCloseTo((150 * 1 + 60 * 2) / 1e6, 12);
    expect(good!.metrics!.steps).toBe(1);
    expect(good!.metrics!.modelMs).toBeGreaterThan(0);
    expect(good!.metrics!.sandboxCpuMs).toBeGreaterThan(0);
    const e = summary.efficiency!;
    expect(e.tokens).toEqual({
      prompt: 350,
      completion: 100,
      reasoning: good!.metrics!.tokens.reasoning + bad!.metrics!.tokens.reasoning,
    });
    expect(e.costUsd).toBeCloseTo((350 + 200) / 1e6, 9);
    expect(e.steps).toBe(2);
    expect(summary).toMatchObject({
      mode: 'completion',
      model: 'Qwen3-30B-A3B-Thinking-2507',
      temperature: 0,
    });
    expect(summary.passAtK.base).toEqual({ 'pass@1': 0.5 });
    const onDisk = JSON.parse(fs.readFileSync(path.join(outDir, 'summary.json'), 'utf8')) as typeof summary;
    expect(onDisk.efficiency).toEqual(e);
    expect(fs.readFileSync(path.join(outDir, 'results.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    const html = renderReport(summary, verdicts);
    expect(html).toContain('<h2>Efficiency</h2>');
    expect(html).toContain('<h2>Tokens per sample</h2>');
    expect(html).toContain(bad!.answer_file!); // the failing sample links its answer
  });

  it('n = 3 at a temperature: three samples per problem and pass@1 over them', async () => {
    server.enqueue(
      answer(GOOD_2, 'a', [100, 10]),
      answer(WRONG_2, 'b', [100, 10]),
      answer(GOOD_2, 'c', [100, 10]),
    );
    const { summary, verdicts } = await runModelEval(config(), {
      dataset: 'humaneval',
      mode: 'completion',
      model: model('plain-coder'),
      problemsFile: DATA_FILES.humaneval,
      tasks: ['HumanEval/2'],
      outDir: path.join(dir, 'n3'),
      n: 3,
      temperature: 0.8,
      concurrency: 1,
    });
    expect(verdicts.map((v) => [v.sample, v.status])).toEqual([
      [0, 'pass'],
      [1, 'fail'],
      [2, 'pass'],
    ]);
    expect(summary.n).toBe(3);
    expect(summary.perTask['HumanEval/2']).toEqual({ n: 3, base: 2 });
    expect(summary.passAtK.base['pass@1']).toBeCloseTo(2 / 3, 12);
    expect(summary.passAtK.base['pass@10']).toBeUndefined(); // needs n ≥ 10
    const bodies = server.chatRequests().map((r) => r.body!);
    expect(bodies.map((b) => b.temperature)).toEqual([0.8, 0.8, 0.8]);
    expect(bodies[0]!.max_tokens).toBe(4096); // not a thinking model
    expect(summary.efficiency!.tokens.prompt).toBe(300);
  });

  it('agent: writes solution.py, runs it, finishes; the solution passes and the trajectory is kept', async () => {
    server.enqueue(
      nativeCalls([{ name: 'read_file', args: { path: 'solution.py' } }], { reasoning: 'Look first.' }),
      nativeCalls([
        {
          name: 'write_file',
          args: {
            path: 'solution.py',
            content: 'def truncate_number(number: float) -> float:\n    return number - int(number)\n',
          },
        },
      ]),
      nativeCalls([
        {
          name: 'execute_command',
          args: { command: 'python3 -c "from solution import truncate_number; print(truncate_number(3.5))"' },
        },
      ]),
      nativeCalls([{ name: 'finish', args: { summary: 'Implemented truncate_number.' } }]),
    );
    const outDir = path.join(dir, 'agent');
    const sandbox = new BubblewrapSandbox({ limits: { ...DEFAULT_LIMITS, timeoutMs: 30_000 } });
    const { summary, verdicts } = await runModelEval(config(), {
      dataset: 'humaneval',
      mode: 'agent',
      model: model('qwen3-coder'),
      problemsFile: DATA_FILES.humaneval,
      tasks: ['HumanEval/2'],
      outDir,
      concurrency: 1,
      sandbox,
    });
    const v = verdicts[0] as SampleVerdict;
    expect(v).toMatchObject({ status: 'pass', mode: 'agent', agent_status: 'completed' });
    expect(v.metrics).toMatchObject({ steps: 4, toolCalls: 4 });
    expect(v.metrics!.tokens.prompt).toBeGreaterThan(0);
    expect(v.trajectory!.startsWith(path.join(outDir, 'agent'))).toBe(true);
    const trajectory = fs.readFileSync(v.trajectory!, 'utf8');
    expect(trajectory).toContain('"tool":"execute_command"');
    expect(trajectory).toContain('0.5');
    // the agent saw the prompt (the read_file observation) and never the hidden tests
    const workspace = path.join(path.dirname(v.trajectory!), 'workspace');
    expect(
      fs
        .readdirSync(workspace)
        .filter((f) => f !== '__pycache__')
        .sort(),
    ).toEqual(['solution.py', 'task.md']);
    expect(trajectory).toContain('Return the decimal part of the number');
    expect(trajectory).not.toContain('def check(candidate)');
    expect(summary.efficiency).toMatchObject({ steps: 4, toolCalls: 4 });
    expect(summary.passAtK.base).toEqual({ 'pass@1': 1 });
  });

  it('june eval run --mode completion --json: the configured model, its summary with efficiency', async () => {
    server.enqueue(answer(GOOD_2, 'thinking', [120, 30]));
    const out = path.join(dir, 'cli');
    const env = {
      ...process.env,
      JUNE_DATA_DIR: dir,
      JUNE_MODELS_DIR: dir,
      JUNE_OFFLINE: 'true',
      JUNE_LLM: 'openai',
      JUNE_LLM_BASE_URL: server.url,
      JUNE_LLM_MODEL: 'plain-coder',
      JUNE_LLM_RETRIES: '0',
      JUNE_EVAL_PRICE_PROMPT_PER_MTOK: '3',
      JUNE_LOG_LEVEL: 'warn',
    };
    const r = await execJune(
      [
        'eval',
        'run',
        '--dataset',
        'humaneval',
        '--problems',
        DATA_FILES.humaneval,
        '--mode',
        'completion',
        '--tasks',
        'HumanEval/2',
        '--temperature',
        '0.3',
        '--out',
        out,
        '--json',
      ],
      { cwd: dir, env, timeoutMs: 120_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as EvalSummary;
    expect(summary).toMatchObject({ mode: 'completion', model: 'plain-coder', temperature: 0.3, samples: 1 });
    expect(summary.passAtK.base).toEqual({ 'pass@1': 1 });
    expect(summary.efficiency).toMatchObject({ tokens: { prompt: 120, completion: 30 }, steps: 1 });
    expect(summary.efficiency!.costUsd).toBeCloseTo((120 * 3) / 1e6, 12);
    expect(fs.existsSync(path.join(out, 'outputs', 'HumanEval_2', '0.answer.json'))).toBe(true);
    const bad = await execJune(
      ['eval', 'run', '--dataset', 'humaneval', '--mode', 'completion', '--samples', 'x.jsonl'],
      { cwd: dir, env, timeoutMs: 60_000 },
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--samples is for --mode samples');
  });

  it('completion on MBPP+: the first test is in the prompt, and plus tests run on the extracted code', async () => {
    server.enqueue(
      answer(
        'Use a set intersection.\n\n```python\ndef similar_elements(test_tup1, test_tup2):\n    return tuple(set(test_tup1) & set(test_tup2))\n\nprint(similar_elements((3, 4), (4, 5)))\n```\n',
        '',
        [80, 25],
      ),
    );
    const { summary, verdicts } = await runModelEval(config(), {
      dataset: 'mbpp+',
      mode: 'completion',
      model: model('plain-coder'),
      problemsFile: DATA_FILES['mbpp+'],
      tasks: ['Mbpp/2'],
      outDir: path.join(dir, 'mbppplus'),
      concurrency: 1,
    });
    expect(verdicts[0]).toMatchObject({ task_id: 'Mbpp/2', status: 'pass', plus_status: 'pass' });
    expect(summary.passAtK).toEqual({ base: { 'pass@1': 1 }, plus: { 'pass@1': 1 } });
    const prompt = server.chatRequests()[0]!.body!.messages![0]!.content as string;
    expect(prompt).toContain('assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))');
  });
});
