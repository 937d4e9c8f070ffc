/**
 * The pieces of one model or agent sample that need no server: EvalPlus's prompts for each dataset, the
 * agent's starting solution.py, which models count as thinking ones, and the cost from configured prices.
 */
import { describe, expect, it } from 'vitest';
import { loadDataset } from './datasets.js';
import { costOf, instructPrompt, isThinkingModel, solutionStub, taskFileName } from './sample-unit.js';
import { DATA_FILES, hasSharedData } from './test-data.js';

describe.skipIf(!hasSharedData)('EvalPlus prompts and the agent workspace', () => {
  it('HumanEval: the prompt in a fence after the instruction; solution.py is the signature and docstring', () => {
    const p = loadDataset('humaneval', DATA_FILES.humaneval).byId.get('HumanEval/2')!;
    const prompt = instructPrompt(p);
    expect(prompt).toBe(
      `Please provide a self-contained Python script that solves the following problem in a markdown code block:\n\`\`\`\n${p.prompt.trim()}\n\`\`\`\n`,
    );
    expect(solutionStub(p)).toBe(p.prompt);
  });

  it('MBPP: the description with its first test in a docstring, as MBPP+ states it', () => {
    const mbpp = loadDataset('mbpp', DATA_FILES.mbpp).problems[0]!;
    const prompt = instructPrompt(mbpp);
    expect(prompt).toContain(`"""\n${mbpp.prompt.trim()}\n${mbpp.firstTest!.trim()}\n"""`);
    expect(mbpp.firstTest).toMatch(/^assert /);
    const plus = loadDataset('mbpp+', DATA_FILES['mbpp+']).problems[0]!;
    expect(plus.firstTest).toBeUndefined();
    expect(instructPrompt(plus)).toContain(plus.prompt.trim());
    // no signature to start from: the statement as comments, and the function to write
    const stub = solutionStub(plus);
    expect(stub.split('\n').every((l) => l === '' || l.startsWith('#'))).toBe(true);
    expect(stub).toContain(`\`${plus.entryPoint}\``);
  });
});

describe('sample helpers', () => {
  it('tells thinking models by name unless told', () => {
    const auto = { evalThinking: 'auto' as const };
    expect(isThinkingModel(auto, 'Qwen/Qwen3-30B-A3B-Thinking-2507')).toBe(true);
    expect(isThinkingModel(auto, 'deepseek-ai/DeepSeek-R1-Distill-Qwen-7B')).toBe(true);
    expect(isThinkingModel(auto, 'QwQ-32B')).toBe(true);
    expect(isThinkingModel(auto, 'Qwen2.5-Coder-7B-Instruct')).toBe(false);
    expect(isThinkingModel(auto, 'llama-3-r100')).toBe(false);
    expect(isThinkingModel({ evalThinking: 'on' }, 'plain')).toBe(true);
    expect(isThinkingModel({ evalThinking: 'off' }, 'Qwen3-Thinking')).toBe(false);
  });

  it('prices tokens per million, only when a price is set', () => {
    const tokens = { prompt: 2_000_000, completion: 500_000, reasoning: 100_000 };
    expect(costOf({}, tokens)).toBeUndefined();
    expect(costOf({ evalPricePromptPerMTok: 0.5, evalPriceCompletionPerMTok: 2 }, tokens)).toBeCloseTo(2, 12);
    expect(costOf({ evalPriceCompletionPerMTok: 2 }, tokens)).toBeCloseTo(1, 12);
  });

  it('names task files safely', () => {
    expect(taskFileName('HumanEval/12')).toBe('HumanEval_12');
    expect(taskFileName('Mbpp/2')).toBe('Mbpp_2');
  });
});
