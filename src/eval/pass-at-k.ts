/**
 * The unbiased pass@k estimator of Chen et al. (2021, "Evaluating Large Language Models Trained on Code"):
 * for a problem with n samples of which c pass, pass@k = 1 - C(n-c, k) / C(n, k), computed as a product so
 * that large n does not overflow. The benchmark's pass@k is the mean over problems.
 */

/** pass@k for one problem with `n` samples, `c` of them correct. Requires n ≥ k. */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || k < 1 || c < 0 || c > n)
    throw new RangeError(`pass@k needs integers with 0 ≤ c ≤ n and k ≥ 1 (n=${n}, c=${c}, k=${k})`);
  if (n < k) throw new RangeError(`pass@${k} needs at least ${k} samples per problem (n=${n})`);
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** Mean pass@k over problems, for each k in `ks` that every problem has enough samples for. */
export function meanPassAtK(
  counts: readonly { n: number; c: number }[],
  ks: readonly number[] = [1, 10, 100],
): Record<string, number> {
  const out: Record<string, number> = {};
  if (counts.length === 0) return out;
  const minN = Math.min(...counts.map((x) => x.n));
  for (const k of ks) {
    if (minN < k) continue;
    out[`pass@${k}`] = counts.reduce((sum, x) => sum + passAtK(x.n, x.c, k), 0) / counts.length;
  }
  return out;
}
