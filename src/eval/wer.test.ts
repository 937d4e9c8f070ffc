import { describe, expect, it } from 'vitest';
import { corpusWer, normalizeWords, wordErrorRate } from './wer.js';

describe('word error rate', () => {
  it('is zero for the same words whatever the case and punctuation', () => {
    expect(wordErrorRate('Turn on the living room light.', 'turn on the living-room light').wer).toBe(0);
  });

  it('counts substitutions, deletions and insertions', () => {
    expect(wordErrorRate('a b c d', 'a x c d')).toEqual({ wer: 0.25, errors: 1, referenceWords: 4 });
    expect(wordErrorRate('a b c d', 'a c d').errors).toBe(1);
    expect(wordErrorRate('a b c d', 'a b c d e f').errors).toBe(2);
    expect(wordErrorRate('a b', '').wer).toBe(1);
  });

  it('strips sentence markers from reference transcripts and keeps apostrophes inside words', () => {
    expect(normalizeWords("<s> it's ten of clubs </s>")).toEqual(["it's", 'ten', 'of', 'clubs']);
  });

  it('weights the corpus figure by reference length', () => {
    const r = corpusWer([
      { reference: 'one two three four', hypothesis: 'one two three four' },
      { reference: 'five six', hypothesis: 'five' },
    ]);
    expect(r.errors).toBe(1);
    expect(r.wer).toBeCloseTo(1 / 6);
  });
});
