/**
 * Splits long replies at the platform's limit (Telegram 4096, Discord 2000), preferring paragraph, then
 * line, then sentence, then word boundaries, so no message ends mid-word unless a single "word" is longer
 * than the limit.
 */
export function splitText(text: string, limit: number): string[] {
  if (limit <= 0) throw new RangeError('limit must be positive');
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > limit) {
    const head = rest.slice(0, limit + 1);
    const cut =
      lastBoundary(head, /\n\s*\n/g, limit) ??
      lastBoundary(head, /\n/g, limit) ??
      lastBoundary(head, /[.!?…。！？]["')\]]*\s/g, limit) ??
      lastBoundary(head, /\s/g, limit) ??
      limit;
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) parts.push(rest);
  return parts;
}

/** End index of the last match of `re` inside head[0..limit], or undefined. */
function lastBoundary(head: string, re: RegExp, limit: number): number | undefined {
  let best: number | undefined;
  for (const m of head.matchAll(re)) {
    const end = m.index + m[0].length;
    // a boundary in the first fifth would make a tiny message; keep looking for a later one
    if (end <= limit && end > limit / 5) best = end;
  }
  return best;
}
