/**
 * Word error rate: (substitutions + deletions + insertions) / reference words, after normalising case,
 * punctuation and whitespace. Used by the voice benchmark and STT quality checks.
 */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/<\/?s>/g, ' ')
    .replace(/[^\p{L}\p{N}'\s]/gu, ' ')
    .replace(/'(?!\p{L})/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);
}

export interface WerResult {
  wer: number;
  errors: number;
  referenceWords: number;
}

export function wordErrorRate(reference: string, hypothesis: string): WerResult {
  const ref = normalizeWords(reference);
  const hyp = normalizeWords(hypothesis);
  // Levenshtein distance over words, one row at a time.
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const cur = [i];
    for (let j = 1; j <= hyp.length; j++) {
      const sub = prev[j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, prev[j]! + 1, cur[j - 1]! + 1));
    }
    prev = cur;
  }
  const errors = prev[hyp.length]!;
  return { wer: ref.length ? errors / ref.length : hyp.length ? 1 : 0, errors, referenceWords: ref.length };
}

/** Corpus-level WER: total errors over total reference words. */
export function corpusWer(pairs: Array<{ reference: string; hypothesis: string }>): WerResult {
  let errors = 0;
  let words = 0;
  for (const p of pairs) {
    const r = wordErrorRate(p.reference, p.hypothesis);
    errors += r.errors;
    words += r.referenceWords;
  }
  return { wer: words ? errors / words : 0, errors, referenceWords: words };
}
