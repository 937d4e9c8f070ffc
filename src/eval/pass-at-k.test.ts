import { describe, expect, it } from 'vitest';
import { mcnemarExact } from './compare.js';
import { meanPassAtK, passAtK } from './pass-at-k.js';

describe('pass@k (unbiased estimator)', () => {
  it('matches hand-computed values of 1 - C(n-c,k)/C(n,k)', () => {
    // n=5, c=2, k=1: 1 - C(3,1)/C(5,1) = 1 - 3/5
    expect(passAtK(5, 2, 1)).toBeCloseTo(0.4, 12);
    // n=5, c=2, k=2: 1 - C(3,2)/C(5,2) = 1 - 3/10
    expect(passAtK(5, 2, 2)).toBeCloseTo(0.7, 12);
    // n=10, c=1, k=10: the one correct sample is always among the 10
    expect(passAtK(10, 1, 10)).toBe(1);
    // n=200, c=10, k=100: 1 - C(190,100)/C(200,100), computed exactly with BigInt below
    const comb = (n: bigint, k: bigint) => {
      let r = 1n;
      for (let i = 1n; i <= k; i++) r = (r * (n - k + i)) / i;
      return r;
    };
    const exact = 1 - Number((comb(190n, 100n) * 10n ** 15n) / comb(200n, 100n)) / 1e15;
    expect(passAtK(200, 10, 100)).toBeCloseTo(exact, 10);
  });

  it('is c/n for k=1 and 0 without a correct sample', () => {
    expect(passAtK(7, 3, 1)).toBeCloseTo(3 / 7, 12);
    expect(passAtK(100, 0, 10)).toBe(0);
    expect(passAtK(1, 1, 1)).toBe(1);
  });

  it('averages over problems and leaves out every k larger than n', () => {
    const m = meanPassAtK([
      { n: 10, c: 10 },
      { n: 10, c: 0 },
    ]);
    expect(m).toEqual({ 'pass@1': 0.5, 'pass@10': 0.5 });
    expect(m['pass@100']).toBeUndefined();
  });

  it('rejects impossible counts', () => {
    expect(() => passAtK(3, 4, 1)).toThrow(RangeError);
    expect(() => passAtK(3, 1, 5)).toThrow(/at least 5 samples/);
  });
});

describe('exact McNemar test', () => {
  it('matches binomial tail probabilities worked by hand', () => {
    // b=0, c=5: 2 × (1/2)^5 = 0.0625
    expect(mcnemarExact(0, 5)).toBeCloseTo(0.0625, 12);
    // b=1, c=9: 2 × (1 + 10) / 1024
    expect(mcnemarExact(1, 9)).toBeCloseTo(22 / 1024, 12);
    // symmetric, and no discordant pairs means no evidence
    expect(mcnemarExact(9, 1)).toBeCloseTo(mcnemarExact(1, 9), 12);
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(4, 4)).toBe(1);
  });
});
