/**
 * The datasets' own solutions must pass their own tests in June's checker: HumanEval's canonical
 * solutions and MBPP's reference code (base pass@1 = 1.0), and the HumanEval+ / MBPP+ ground truths on the
 * plus tests too (they are the oracle, so any failure is a checker bug).
 */
import { describe, expect, it } from 'vitest';
import { checkSamples } from './checker.js';
import { loadDataset, type DatasetId } from './datasets.js';
import type { Sample } from './samples.js';
import { summarize } from './summary.js';
import { DATA_FILES, hasSharedData } from './test-data.js';

function referenceSamples(
  id: DatasetId,
  limit?: number,
): { samples: Sample[]; ds: ReturnType<typeof loadDataset> } {
  const ds = loadDataset(id, DATA_FILES[id]);
  const problems = ds.problems.slice(0, limit);
  return {
    ds,
    samples: problems.map((p, i) => ({
      order: i,
      taskId: p.taskId,
      sample: 0,
      problem: p,
      program: p.reference,
    })),
  };
}

async function failuresOf(id: DatasetId, limit?: number) {
  const { ds, samples } = referenceSamples(id, limit);
  // a generous CPU limit: Mbpp/123 (amicable numbers below 9999) needs 1 to 3 CPU-seconds depending on how
  // busy the machine's cores are; these tests are about verdicts, not speed
  const run = await checkSamples(ds, samples, { concurrency: 2, timeoutS: 20 });
  const summary = summarize(id, ds.source.plus, run, new Date().toISOString());
  const failing = run.verdicts.filter(
    (v) => v.status !== 'pass' || (ds.source.plus && v.plus_status !== 'pass'),
  );
  return { summary, failing, count: samples.length };
}

describe.skipIf(!hasSharedData)('reference solutions pass their own tests', () => {
  it('HumanEval: all 164 canonical solutions, base pass@1 = 1.0', async () => {
    const { summary, failing, count } = await failuresOf('humaneval');
    expect(count).toBe(164);
    expect(failing).toEqual([]);
    expect(summary.passAtK.base).toEqual({ 'pass@1': 1 });
  }, 240_000);

  it('MBPP sanitized: all 427 reference solutions, base pass@1 = 1.0', async () => {
    const { summary, failing, count } = await failuresOf('mbpp');
    expect(count).toBe(427);
    expect(failing).toEqual([]);
    expect(summary.passAtK.base['pass@1']).toBe(1);
  }, 240_000);

  it('MBPP full: all 974 reference solutions, base pass@1 = 1.0', async () => {
    const { failing, count } = await failuresOf('mbpp-full');
    expect(count).toBe(974);
    expect(failing).toEqual([]);
  }, 400_000);

  it('HumanEval+: the ground truths pass base and plus tests', async () => {
    const { summary, failing, count } = await failuresOf('humaneval+');
    expect(count).toBe(164);
    expect(failing).toEqual([]);
    expect(summary.passAtK.plus).toEqual({ 'pass@1': 1 });
  }, 400_000);

  it('MBPP+: the first 60 ground truths pass base and plus tests (all 378 run in npm run bench:eval)', async () => {
    const { failing, count } = await failuresOf('mbpp+', 60);
    expect(count).toBe(60);
    expect(failing).toEqual([]);
  }, 400_000);
});
