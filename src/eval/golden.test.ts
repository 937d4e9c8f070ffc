/**
 * Agreement with openai/human-eval: 820 samples (5 per problem: the canonical solution, `return None`, a
 * syntax error, an infinite loop, and a result that never compares equal) with the verdicts of human-eval's
 * own evaluator. June's verdict must agree on every one: pass ↔ "passed", timeout ↔ "timed out", and
 * every other status ↔ "failed: …". Concurrency 4 as human-eval's default; the limit is 3 s of CPU
 * (human-eval: 3 s of wall time), so the 164 infinite loops take about 3 s each.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEval } from './run.js';
import { DATA_FILES, GOLDEN, hasSharedData } from './test-data.js';

const humanEvalCategory = (result: string) =>
  result === 'passed' ? 'pass' : result === 'timed out' ? 'timeout' : 'failed';
const juneCategory = (status: string) => (status === 'pass' || status === 'timeout' ? status : 'failed');

describe.skipIf(!hasSharedData || !fs.existsSync(GOLDEN))('agreement with openai/human-eval', () => {
  it('agrees on every one of the 820 golden samples', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'june-golden-'));
    try {
      const golden = fs
        .readFileSync(GOLDEN, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { task_id: string; result: string; passed: boolean });
      expect(golden).toHaveLength(820);
      const { verdicts, summary } = await runEval(
        { dataDir: dir, modelsDir: dir, offline: true },
        {
          dataset: 'humaneval',
          problemsFile: DATA_FILES.humaneval,
          samplesFile: GOLDEN,
          outDir: dir,
          concurrency: 4,
          timeoutS: 3,
        },
      );
      const disagreements = golden
        .map((g, i) => ({ g, v: verdicts[i]! }))
        .filter(
          ({ g, v }) => g.task_id !== v.task_id || humanEvalCategory(g.result) !== juneCategory(v.status),
        )
        .map(
          ({ g, v }) => `${g.task_id}: human-eval "${g.result}", June ${v.status} ${v.detail?.error ?? ''}`,
        );
      expect(disagreements).toEqual([]);
      expect(summary.passAtK.base['pass@1']).toBeCloseTo(golden.filter((g) => g.passed).length / 820, 12);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);
});
