/**
 * `june eval run | compare | report` as a user runs them: a samples file in, the --json summary, the
 * --results verdicts in sample order, the run directory, and the comparison and HTML report built from it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execJune } from '../../test/helpers/june-cli.js';
import type { Comparison } from './compare.js';
import type { Verdict } from './checker.js';
import type { EvalSummary } from './summary.js';
import { DATA_FILES, hasSharedData } from './test-data.js';

describe.skipIf(!hasSharedData)('june eval (CLI)', () => {
  it('runs samples of both formats, then compares two runs and writes a report', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-eval-cli-'));
    const env = { ...process.env, JUNE_DATA_DIR: dir, JUNE_MODELS_DIR: dir, JUNE_OFFLINE: 'true' };
    const write = (name: string, rows: object[]) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      return file;
    };
    // HumanEval/2 truncate_number: two right answers (completion and whole solution), one wrong
    const good = write('a.jsonl', [
      { task_id: 'HumanEval/2', completion: '    return number % 1.0\n' },
      { task_id: 'HumanEval/2', solution: 'def truncate_number(number):\n    return number - int(number)\n' },
      { task_id: 'HumanEval/4', completion: '    return 0.0\n' },
    ]);
    const bad = write('b.jsonl', [
      { task_id: 'HumanEval/2', completion: '    return 0.5\n' },
      { task_id: 'HumanEval/2', completion: '    return 0.5\n' },
      { task_id: 'HumanEval/4', completion: '    return 0.0\n' },
    ]);
    const args = (samples: string, out: string) => [
      'eval',
      'run',
      '--dataset',
      'humaneval+',
      '--problems',
      DATA_FILES['humaneval+'],
      '--samples',
      samples,
      '--out',
      path.join(dir, out),
      '--json',
      '--results',
      path.join(dir, `${out}.jsonl`),
    ];
    const a = await execJune(args(good, 'run-a'), { cwd: dir, env, timeoutMs: 120_000 });
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const summary = JSON.parse(a.stdout) as EvalSummary;
    expect(summary).toMatchObject({ dataset: 'humaneval+', mode: 'samples', n: 1, tasks: 2, samples: 3 });
    expect(summary.perTask['HumanEval/2']).toEqual({ n: 2, base: 2, plus: 2 });
    expect(summary.perTask['HumanEval/4']).toEqual({ n: 1, base: 0, plus: 0 });
    expect(summary.passAtK.base['pass@1']).toBeCloseTo(0.5, 12);
    expect(summary.passAtK.plus?.['pass@1']).toBeCloseTo(0.5, 12);

    const results = fs
      .readFileSync(path.join(dir, 'run-a.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Verdict);
    expect(results.map((r) => [r.task_id, r.sample, r.status, r.plus_status])).toEqual([
      ['HumanEval/2', 0, 'pass', 'pass'],
      ['HumanEval/2', 1, 'pass', 'pass'],
      ['HumanEval/4', 0, 'fail', undefined],
    ]);
    expect(results[2]!.detail).toMatchObject({ input: 'candidate([1.0, 2.0, 3.0])', actual: '0.0' });
    expect(results[2]!.detail?.expected).toBeDefined();
    expect(fs.existsSync(path.join(dir, 'run-a', 'summary.json'))).toBe(true);

    const b = await execJune(args(bad, 'run-b'), { cwd: dir, env, timeoutMs: 120_000 });
    expect(b.code).toBe(0);
    const cmp = await execJune(
      ['eval', 'compare', path.join(dir, 'run-a'), path.join(dir, 'run-b'), '--json'],
      {
        cwd: dir,
        env,
      },
    );
    expect(cmp.code).toBe(0);
    const { comparisons } = JSON.parse(cmp.stdout) as { comparisons: Comparison[] };
    expect(comparisons[0]).toMatchObject({
      metric: 'base',
      tasks: 2,
      newlyFailing: ['HumanEval/2'],
      newlyPassing: [],
    });
    expect(comparisons[0]!.pValue).toBe(1);

    const report = await execJune(['eval', 'report', path.join(dir, 'run-b')], { cwd: dir, env });
    expect(report.code).toBe(0);
    const html = fs.readFileSync(report.stdout.trim(), 'utf8');
    expect(html).toContain('<!doctype html>');
    expect(html).toContain('HumanEval/2');
    expect(html).not.toMatch(/<script|https?:\/\/(?!github)/);
  }, 240_000);

  it('rejects an unknown dataset, samples given to the agent mode and an uncached dataset, with a clear reason', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-eval-cli-'));
    const env = { ...process.env, JUNE_DATA_DIR: dir, JUNE_MODELS_DIR: dir, JUNE_OFFLINE: 'true' };
    const r1 = await execJune(['eval', 'run', '--dataset', 'apps', '--samples', 'x.jsonl'], {
      cwd: dir,
      env,
    });
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/Unknown dataset "apps"; datasets: humaneval, humaneval\+/);
    const r2 = await execJune(
      ['eval', 'run', '--dataset', 'humaneval', '--samples', 'x.jsonl', '--mode', 'agent'],
      {
        cwd: dir,
        env,
      },
    );
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/--samples is for --mode samples; --mode agent produces its own/);
    const r3 = await execJune(['eval', 'run', '--dataset', 'mbpp+', '--samples', 'x.jsonl'], {
      cwd: dir,
      env,
    });
    expect(r3.code).toBe(1);
    expect(r3.stderr).toMatch(/Dataset mbpp\+ is not in the dataset cache and downloads are turned off/);
  }, 120_000);
});
