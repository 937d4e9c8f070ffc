/**
 * From a model's answer to the program that is checked, with EvalPlus's semantics: the reasoning goes
 * (the provider puts it apart; a `<think>…</think>` left in the content is cut here), then the longest
 * syntactically valid code block, then only the entry point and what it uses (imports, and the functions,
 * classes and globals it reaches). Validity is Python's own `ast`, run in the checker sandbox
 * (python/sanitize.py, in a forked, limited child of the warm worker): an answer is untrusted text, and
 * a heuristic would disagree with Python on the edge cases that matter.
 */
import { CheckerSandbox } from './sandbox-worker.js';
import { EvalError } from './errors.js';
import type { CodeSanitizer, SanitizeResult } from './types.js';

/** The answer without reasoning: `<think>…</think>` blocks, or everything up to a lone `</think>`. */
export function stripThinking(text: string): string {
  let out = text.replace(/<think>[\s\S]*?<\/think>/g, '');
  const close = out.lastIndexOf('</think>');
  if (close >= 0) out = out.slice(close + '</think>'.length);
  // an unclosed <think> (the budget ran out mid-thought): nothing after it is an answer
  const open = out.indexOf('<think>');
  if (open >= 0) out = out.slice(0, open);
  return out.trim();
}

/** Answers longer than this are cut before parsing (the longest-run search is quadratic in lines). */
const MAX_ANSWER_CHARS = 200_000;

/**
 * A sanitizer on a warm checker sandbox: its own (started on first use, stopped after `idleMs` idle), or
 * one the caller shares (never closed here).
 */
export class SandboxSanitizer implements CodeSanitizer {
  private own: CheckerSandbox | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;

  constructor(private readonly options: { sandbox?: CheckerSandbox; idleMs?: number } = {}) {}

  private box(): CheckerSandbox {
    if (this.options.sandbox) return this.options.sandbox;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    return (this.own ??= new CheckerSandbox());
  }

  async sanitize(answer: string, entryPoint: string, signal?: AbortSignal): Promise<SanitizeResult> {
    signal?.throwIfAborted();
    const text = stripThinking(answer).slice(0, MAX_ANSWER_CHARS);
    if (!text.trim()) return { code: '', source: 'none', blocks: 0, hasEntryPoint: false, cpuMs: 0 };
    this.inFlight++;
    const box = this.box();
    try {
      let r;
      try {
        r = await box.run({
          op: 'sanitize',
          answer: text,
          entry: entryPoint,
          wallS: 120,
          limits: { cpuSeconds: 30, memoryMb: 1024 },
        });
      } catch (err) {
        if (box === this.own) {
          this.own = undefined; // a sandbox that stopped is replaced on the next call
          void box.close();
        }
        throw err;
      }
      if (r.status !== 'pass' || !r.sanitized)
        throw new EvalError(
          'eval_sandbox',
          `The code sanitizer failed in the sandbox: ${r.detail?.error ?? r.status}.`,
        );
      return { ...r.sanitized, cpuMs: r.cpuMs };
    } finally {
      if (--this.inFlight === 0 && this.own) {
        this.idleTimer = setTimeout(() => void this.close(), this.options.idleMs ?? 60_000);
        this.idleTimer.unref();
      }
    }
  }

  async close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const box = this.own;
    this.own = undefined;
    await box?.close();
  }
}

let shared: SandboxSanitizer | undefined;

/** One warm sanitizer per process (for callers that do not bring their own). */
export function defaultSanitizer(): SandboxSanitizer {
  return (shared ??= new SandboxSanitizer());
}
