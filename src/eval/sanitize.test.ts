/**
 * The sanitizer on answers as models really write them: prose around several blocks, a block with tests
 * after the solution, a `__main__` guard, no fences at all, a cut-off block, reasoning left in the content,
 * a duplicate stub. It runs Python's ast in the real checker sandbox.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SandboxSanitizer, stripThinking } from './sanitize.js';

describe('stripThinking', () => {
  it('drops <think> blocks, everything before a lone </think>, and an unclosed <think>', () => {
    expect(stripThinking('<think>plan it</think>\n\nThe answer.')).toBe('The answer.');
    expect(stripThinking('mid-thought reasoning\n</think>\nAnswer here')).toBe('Answer here');
    expect(stripThinking('Answer <think>never closed')).toBe('Answer');
    expect(stripThinking('plain')).toBe('plain');
  });
});

describe('SandboxSanitizer (python ast in the sandbox)', () => {
  const sanitizer = new SandboxSanitizer();
  afterAll(() => sanitizer.close());

  it('takes the solution block out of prose and a second block of tests, keeping only what the entry uses', async () => {
    const answer = [
      '<think>I need a running balance.</think>',
      'Sure! Here is a self-contained solution:',
      '',
      '```python',
      'from typing import List',
      'import math',
      '',
      'SCALE = 2',
      '',
      'def helper(x):',
      '    return x * SCALE // 2',
      '',
      'def unused():',
      '    return 42',
      '',
      'def below_zero(operations: List[int]) -> bool:',
      '    balance = 0',
      '    for op in operations:',
      '        balance += helper(op)',
      '        if balance < 0:',
      '            return True',
      '    return False',
      '',
      'print(below_zero([1, -5]))',
      '',
      'if __name__ == "__main__":',
      '    assert below_zero([1, 2, -4])',
      '```',
      '',
      'You can test it like this:',
      '',
      '```python',
      'assert below_zero([1, 2, -4]) is True',
      'assert below_zero([1, 2]) is False',
      '```',
    ].join('\n');
    const r = await sanitizer.sanitize(answer, 'below_zero');
    expect(r.source).toBe('fenced');
    expect(r.blocks).toBe(2);
    expect(r.hasEntryPoint).toBe(true);
    expect(r.code).toContain('from typing import List');
    expect(r.code).toContain('import math');
    expect(r.code).toContain('SCALE = 2');
    expect(r.code).toContain('def helper(x):');
    expect(r.code).toContain('def below_zero(operations: List[int]) -> bool:');
    expect(r.code).not.toContain('unused');
    expect(r.code).not.toContain('print(');
    expect(r.code).not.toContain('__main__');
    expect(r.code).not.toContain('assert');
    expect(r.code).not.toContain('running balance');
  });

  it('finds the code in an answer without fences (the longest valid run of lines)', async () => {
    const answer = [
      'The function below adds one.',
      'def add_one(x):',
      '    return x + 1',
      '',
      'print(add_one(2))',
      'It prints 3, as expected!',
    ].join('\n');
    const r = await sanitizer.sanitize(answer, 'add_one');
    expect(r.source).toBe('text');
    expect(r.blocks).toBe(0);
    expect(r.code).toBe('def add_one(x):\n    return x + 1');
  });

  it('reads a block cut off by the output budget, and a block that only parses in part', async () => {
    const cut = await sanitizer.sanitize('```python\ndef f(x):\n    return 2 * x\n', 'f');
    expect(cut.code).toBe('def f(x):\n    return 2 * x');
    const partly = await sanitizer.sanitize(
      '```python\ndef f(x):\n    return 2 * x\n\nthis line is not python !!\n```',
      'f',
    );
    expect(partly.code).toBe('def f(x):\n    return 2 * x');
  });

  it('prefers the block that defines the entry point, and the last of two definitions', async () => {
    const answer = [
      'First a long example of usage:',
      '```python',
      'values = [1, 2, 3, 4, 5]',
      'for v in values:',
      '    print(v)',
      'print(sum(values))',
      'print(len(values))',
      '```',
      'The solution:',
      '```py',
      'def square(x):',
      '    pass',
      '',
      'def square(x):',
      '    return x * x',
      '```',
      '```bash',
      'python3 solution.py',
      '```',
    ].join('\n');
    const r = await sanitizer.sanitize(answer, 'square');
    expect(r.blocks).toBe(3);
    expect(r.code).toBe('def square(x):\n    return x * x');
  });

  it('keeps a class the entry point uses and a decorated helper', async () => {
    const answer = [
      '```python',
      'import functools',
      '',
      'class Acc:',
      '    def __init__(self):',
      '        self.total = 0',
      '',
      '@functools.lru_cache(maxsize=None)',
      'def fib(n):',
      '    return n if n < 2 else fib(n - 1) + fib(n - 2)',
      '',
      'def solve(n):',
      '    a = Acc()',
      '    a.total = fib(n)',
      '    return a.total',
      '',
      'solve(10)',
      '```',
    ].join('\n');
    const r = await sanitizer.sanitize(answer, 'solve');
    expect(r.code).toContain('class Acc:');
    expect(r.code).toContain('@functools.lru_cache(maxsize=None)\ndef fib(n):');
    expect(r.code.trim().endsWith('return a.total')).toBe(true);
  });

  it('returns nothing for an answer with no code, and says the entry point is missing', async () => {
    const empty = await sanitizer.sanitize('<think>hmm</think>', 'f');
    expect(empty).toMatchObject({ code: '', source: 'none', hasEntryPoint: false });
    const other = await sanitizer.sanitize('```python\ndef g():\n    return 1\n```', 'f');
    expect(other.hasEntryPoint).toBe(false);
    // nothing reaches the entry point: the block as found (EvalPlus's fallback)
    expect(other.code).toBe('def g():\n    return 1');
  });
});
