/**
 * Incremental sentence segmentation for streaming TTS: text arrives token by token from the LLM and each
 * complete sentence is handed to TTS at once, so the first audio is ready long before the reply ends.
 *
 * A boundary is sentence punctuation (. ! ? … and CJK 。！？) followed by whitespace, or a blank line.
 * It is not a boundary after common abbreviations (Mr. e.g.), single initials (J. R. R.), inside numbers
 * (3.14) or before a closing quote/bracket (which stays with its sentence). The first sentence may be cut
 * early at a comma once it is long, to shorten time-to-first-audio; later ones are never cut below
 * `minChars` so TTS gets natural phrases.
 */
const ABBREVIATIONS = new Set([
  'mr',
  'mrs',
  'ms',
  'dr',
  'prof',
  'sr',
  'jr',
  'st',
  'vs',
  'etc',
  'e.g',
  'i.e',
  'approx',
  'no',
  'fig',
  'inc',
  'ltd',
  'co',
  'mt',
  'jan',
  'feb',
  'mar',
  'apr',
  'jun',
  'jul',
  'aug',
  'sep',
  'sept',
  'oct',
  'nov',
  'dec',
  'u.s',
  'a.m',
  'p.m',
]);

const TERMINATORS = '.!?…。！？';
const CLOSERS = '"\'”’)]}»';

export interface SegmenterOptions {
  /** Sentences shorter than this are merged with the next one (except at the end). */
  minChars?: number;
  /** The first sentence is cut at a comma/semicolon once it is longer than this. */
  firstMaxChars?: number;
  /** Any sentence is cut at a clause boundary (or a space) once it is longer than this. */
  maxChars?: number;
}

export class SentenceSegmenter {
  private buffer = '';
  private emitted = 0;
  private readonly minChars: number;
  private readonly firstMaxChars: number;
  private readonly maxChars: number;

  constructor(options: SegmenterOptions = {}) {
    this.minChars = options.minChars ?? 12;
    this.firstMaxChars = options.firstMaxChars ?? 120;
    this.maxChars = options.maxChars ?? 300;
  }

  /** Adds streamed text; returns the sentences completed by it (trimmed, non-empty). */
  push(text: string): string[] {
    this.buffer += text;
    const out: string[] = [];
    for (;;) {
      const cut = this.findBoundary();
      if (cut < 0) break;
      const sentence = this.buffer.slice(0, cut).trim();
      this.buffer = this.buffer.slice(cut);
      if (sentence) {
        out.push(sentence);
        this.emitted++;
      }
    }
    return out;
  }

  /** Returns whatever is left (end of stream). */
  flush(): string[] {
    const rest = this.buffer.trim();
    this.buffer = '';
    if (!rest) return [];
    this.emitted++;
    return [rest];
  }

  /** Index just after a boundary in the buffer, or -1. */
  private findBoundary(): number {
    const b = this.buffer;
    const limit = this.emitted === 0 ? this.firstMaxChars : this.maxChars;
    for (let i = 0; i < b.length; i++) {
      const ch = b[i]!;
      if (ch === '\n' && b[i + 1] === '\n' && b.slice(0, i).trim().length > 0) return i + 2;
      if (!TERMINATORS.includes(ch)) continue;
      let end = i + 1;
      while (end < b.length && (TERMINATORS.includes(b[end]!) || CLOSERS.includes(b[end]!))) end++;
      if (end >= b.length) return -1; // need the next character to decide
      const next = b[end]!;
      const cjk = '。！？'.includes(ch);
      if (!cjk && !/\s/.test(next)) continue; // "3.14", "e.g.x", "file.txt"
      if (ch === '.' && this.isAbbreviation(i)) continue;
      if (b.slice(0, end).trim().length < this.minChars) continue;
      return end;
    }
    if (b.length > limit) return this.clauseCut(b, limit);
    return -1;
  }

  private isAbbreviation(dotIndex: number): boolean {
    const before = this.buffer.slice(0, dotIndex);
    const word = /([A-Za-z.]+)$/.exec(before)?.[1] ?? '';
    if (!word) return false;
    if (/^[A-Z]$/.test(word)) return true; // an initial: "J. Smith"
    return ABBREVIATIONS.has(word.toLowerCase());
  }

  /** Cuts a long run-on sentence at the last clause boundary (or space) before `limit`. */
  private clauseCut(b: string, limit: number): number {
    const head = b.slice(0, limit);
    const clause = Math.max(head.lastIndexOf(', '), head.lastIndexOf('; '), head.lastIndexOf(': '));
    if (clause >= this.minChars) return clause + 1;
    const space = head.lastIndexOf(' ');
    return space >= this.minChars ? space : -1;
  }
}
