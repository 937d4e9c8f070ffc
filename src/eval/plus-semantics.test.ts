/**
 * EvalPlus semantics of the plus tests, on HumanEval/2 (truncate_number, atol 1e-6): a float within the
 * tolerance passes, a wrong one fails with its input, expected and actual values, and an input that takes
 * too long (computing or sleeping) is a timeout. All of these pass the original asserts.
 */
import { describe, expect, it } from 'vitest';
import { checkSamples } from './checker.js';
import { loadDataset } from './datasets.js';
import type { Sample } from './samples.js';
import { DATA_FILES, hasSharedData } from './test-data.js';

describe.skipIf(!hasSharedData)('plus tests (HumanEval+)', () => {
  it('apply the tolerance, report the first failing input and time each input', async () => {
    const ds = loadDataset('humaneval+', DATA_FILES['humaneval+']);
    const problem = ds.byId.get('HumanEval/2')!;
    const bodies: [string, string][] = [
      ['within atol', '    return number - int(number) + (1e-9 if number != 3.5 else 0)\n'],
      ['wrong on large inputs', '    return number % 1.0 + (1e-3 if number > 900 else 0)\n'],
      [
        'computes forever on large inputs',
        '    while number > 900:\n        pass\n    return number % 1.0\n',
      ],
      [
        'sleeps on large inputs',
        '    import time\n    if number > 900:\n        time.sleep(60)\n    return number % 1.0\n',
      ],
    ];
    const samples: Sample[] = bodies.map(([, body], i) => ({
      order: i,
      taskId: problem.taskId,
      sample: i,
      problem,
      program: problem.prompt + body,
    }));
    const run = await checkSamples(ds, samples, { concurrency: 2 });
    expect(run.verdicts.map((v) => v.status)).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(run.verdicts.map((v) => v.plus_status)).toEqual(['pass', 'fail', 'timeout', 'timeout']);
    const wrong = run.verdicts[1]!.plus_detail!;
    expect(wrong.index).toBe(0);
    expect(wrong.input).toBe('[999.99999]');
    expect(Number(wrong.expected)).toBeCloseTo(0.99999, 5);
    expect(Number(wrong.actual)).toBeCloseTo(1.00099, 5);
    expect(run.groundTruth.tasks).toBe(1);
  }, 180_000);
});
