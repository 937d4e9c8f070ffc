/**
 * Separates a model's reasoning ("thinking") from its answer when both arrive in the same `content` text.
 *
 * Models mark reasoning in three ways, all handled here:
 *  - `<think>…</think>` inline (DeepSeek-R1, Qwen3 hybrid models served without a reasoning parser);
 *  - only the closing `</think>`: Qwen3-*-Thinking-2507's chat template already opens the thought in the
 *    prompt, so the output starts mid-thought and the first `</think>` ends it;
 *  - no tags at all: the model does not think, everything is answer.
 * Tags may be split across chunks anywhere ("<thi" + "nk>"); a suffix that could be the start of a tag is
 * held back until the next chunk settles it.
 *
 * Modes:
 *  - 'always-open': the thought is open from the first token; everything up to `</think>` is reasoning and is
 *    streamed as it arrives.
 *  - 'never': the model is not expected to think, so content is answer from the first token (no hold-back).
 *    Explicit `<think>` blocks are still removed, because speaking them aloud is worse than dropping them.
 *  - 'auto' (default): when the model name matches /thinking/i the thought is assumed open, but that
 *    assumption is checked: content is held until `</think>` arrives. If the stream ends without one, it was
 *    a truncated thought when the reply hit the token limit (finish reason "length"), and otherwise the model
 *    simply did not think, so the held content is answer.
 *    For other names, content is held until one of: `</think>` (what came before was reasoning), `<think>`
 *    (reasoning starts there), or a complete first sentence / `decideAfterChars` characters with no tag
 *    (answer). Holding one sentence costs nothing audible, because speech is synthesised per sentence.
 *    That verdict is a guess: a model that thinks without an opening tag but whose name lacks "thinking"
 *    (Qwen3-Thinking-2507 served as `qwen3`) has its first sentence of reasoning judged as answer. When a
 *    `</think>` then arrives, the guess is withdrawn: a 'retract' piece carries every text piece given out
 *    so far, which was reasoning after all, and the answer starts again after the tag.
 *    `closedUntaggedThought` tells the caller that the model thinks this way, so it can start its next
 *    reply in 'always-open' mode.
 *
 * When the server itself separates reasoning (`reasoning_content` / `reasoning` fields), the content is all
 * answer; `noteExternalReasoning()` drops any not-yet-confirmed assumption that a thought is open.
 *
 * Whitespace: leading whitespace of the first reasoning and the first answer text is dropped, and trailing
 * whitespace is held until more text follows, so "</think>\n\nHi" gives the answer "Hi", not "\n\nHi".
 * Held whitespace is given back as it was when the next chunk goes on the same text ("\n" + "    return"
 * keeps its indentation: code); only where a tag was cut out between them is the next text's leading
 * whitespace dropped, so "Hi <think>…</think> there" does not get a double space.
 */

export type ThinkingMode = 'auto' | 'always-open' | 'never';

export type ThoughtPieceType = 'reasoning' | 'text';

export type ThoughtPiece =
  | { type: ThoughtPieceType; text: string }
  /** Every 'text' piece given out so far was reasoning (`text` is all of it, now reasoning). */
  | { type: 'retract'; text: string };

export interface ThinkTagSplitterOptions {
  mode?: ThinkingMode;
  /** The model name; in 'auto' mode a name matching /thinking/i means the thought starts open. */
  model?: string;
  /** In 'auto' mode without a tag, this much text (or one complete sentence) is judged to be answer. */
  decideAfterChars?: number;
}

const OPEN = '<think>';
const CLOSE = '</think>';
/** A sentence end: terminal punctuation followed by whitespace (so "3.5" or "e.g" does not count). */
const SENTENCE_END = /[.!?…。！？]["')\]]*\s/;

type State =
  /** 'auto' for a thinking model: holding content until `</think>` confirms the open thought. */
  | 'assumed-open'
  /** 'auto' for other models: holding content until a tag or enough text decides. */
  | 'undecided'
  | 'reasoning'
  | 'text';

export class ThinkTagSplitter {
  private state: State;
  private buffer = '';
  private readonly decideAfterChars: number;
  /** True while the initial 'reasoning' state of 'always-open' has not been confirmed by any tag. */
  private openByAssumption: boolean;
  private readonly emittedAny: Record<ThoughtPieceType, boolean> = { reasoning: false, text: false };
  private readonly pendingSpace: Record<ThoughtPieceType, string> = { reasoning: '', text: '' };
  /** A tag was cut out since this type's held whitespace: the next text's leading whitespace is dropped. */
  private readonly afterTag: Record<ThoughtPieceType, boolean> = { reasoning: false, text: false };
  /** True while the 'text' state rests on the undecided guess, with no tag seen yet. */
  private guessedText = false;
  /** The text given out under that guess, returned by a 'retract' piece if a `</think>` proves it wrong. */
  private guessedSoFar = '';
  /** `</think>` tags found where no thought was open (dropped from the text). */
  strayCloseTags = 0;
  /** A `</think>` closed a thought that had no opening tag: the model starts its replies mid-thought. */
  closedUntaggedThought = false;

  constructor(options: ThinkTagSplitterOptions = {}) {
    const mode = options.mode ?? 'auto';
    this.decideAfterChars = options.decideAfterChars ?? 200;
    if (mode === 'never') this.state = 'text';
    else if (mode === 'always-open') this.state = 'reasoning';
    else this.state = /thinking/i.test(options.model ?? '') ? 'assumed-open' : 'undecided';
    this.openByAssumption = mode === 'always-open';
  }

  /** True while content is being held back to decide whether it is reasoning. */
  get deciding(): boolean {
    return this.state === 'assumed-open' || this.state === 'undecided';
  }

  push(chunk: string): ThoughtPiece[] {
    const out: ThoughtPiece[] = [];
    this.buffer += chunk;
    this.process(out);
    return out;
  }

  /** The server reports reasoning in a separate field, so content is answer unless it has explicit tags. */
  noteExternalReasoning(): ThoughtPiece[] {
    const out: ThoughtPiece[] = [];
    this.guessedText = false;
    if (this.deciding || this.openByAssumption) {
      this.state = 'text';
      this.openByAssumption = false;
      this.process(out);
    }
    return out;
  }

  /** True when the stream ended in an 'always-open' thought that no tag ever confirmed. */
  get endedInUnconfirmedThought(): boolean {
    return this.state === 'reasoning' && this.openByAssumption;
  }

  /** End of stream: flushes whatever was held back. `finishReason` "length" means the reply was cut off. */
  end(finishReason?: string): ThoughtPiece[] {
    const out: ThoughtPiece[] = [];
    const rest = this.buffer;
    this.buffer = '';
    if (this.state === 'assumed-open') this.emit(finishReason === 'length' ? 'reasoning' : 'text', rest, out);
    else if (this.state === 'reasoning') this.emit('reasoning', rest, out);
    else this.emit('text', rest, out);
    this.pendingSpace.reasoning = '';
    this.pendingSpace.text = '';
    return out;
  }

  private process(out: ThoughtPiece[]): void {
    for (;;) {
      const buf = this.buffer;
      if (this.state === 'reasoning') {
        if (this.openByAssumption) {
          // 'always-open' but the model wrote the opening tag anyway: drop it, the thought continues.
          const tag = firstTag(buf);
          if (tag?.tag === OPEN) {
            this.consume(out, 'reasoning', tag.index, OPEN.length, 'reasoning');
            continue;
          }
        }
        const close = buf.indexOf(CLOSE);
        if (close !== -1) {
          this.consume(out, 'reasoning', close, CLOSE.length, 'text');
          continue;
        }
        this.emitAllButPartialTag('reasoning', out);
        return;
      }
      const tag = firstTag(buf);
      if (this.state === 'text') {
        if (!tag) {
          this.emitAllButPartialTag('text', out);
          return;
        }
        if (tag.tag === CLOSE && this.guessedText) {
          this.retractGuess(out, tag.index);
          continue;
        }
        if (tag.tag === CLOSE) this.strayCloseTags++;
        this.consume(out, 'text', tag.index, tag.tag.length, tag.tag === OPEN ? 'reasoning' : 'text');
        continue;
      }
      if (this.state === 'assumed-open') {
        // Whatever precedes the first tag belongs to the thought we assumed open.
        if (!tag) return;
        if (tag.tag === CLOSE) this.closedUntaggedThought = true;
        this.consume(out, 'reasoning', tag.index, tag.tag.length, tag.tag === OPEN ? 'reasoning' : 'text');
        continue;
      }
      // undecided
      if (tag) {
        const before = tag.tag === CLOSE ? 'reasoning' : 'text';
        if (tag.tag === CLOSE) this.closedUntaggedThought = true;
        this.consume(out, before, tag.index, tag.tag.length, tag.tag === OPEN ? 'reasoning' : 'text');
        continue;
      }
      if (!this.enoughToDecide(buf)) return;
      this.state = 'text';
      this.guessedText = true;
    }
  }

  /**
   * A `</think>` after text that was judged answer by guess: that text, and what precedes the tag, were
   * reasoning. (The undecided state looks for tags before it guesses, so no text of this batch is out yet.)
   */
  private retractGuess(out: ThoughtPiece[], index: number): void {
    this.closedUntaggedThought = true;
    if (this.guessedSoFar !== '') {
      out.push({ type: 'retract', text: this.guessedSoFar });
      // The retracted text joins the thought, its held whitespace with it; the answer starts afresh.
      this.emittedAny.reasoning = true;
      this.pendingSpace.reasoning = this.pendingSpace.text;
    }
    this.emittedAny.text = false;
    this.pendingSpace.text = '';
    this.guessedSoFar = '';
    this.consume(out, 'reasoning', index, CLOSE.length, 'text');
  }

  /** Emits buffer[0, index) as `type`, skips the tag, and switches to `next`. */
  private consume(
    out: ThoughtPiece[],
    type: ThoughtPieceType,
    index: number,
    tagLength: number,
    next: State,
  ) {
    this.emit(type, this.buffer.slice(0, index), out);
    this.buffer = this.buffer.slice(index + tagLength);
    this.afterTag.reasoning = true;
    this.afterTag.text = true;
    this.state = next;
    this.openByAssumption = false;
    this.guessedText = false;
  }

  private enoughToDecide(buf: string): boolean {
    const text = buf.trimStart();
    if (text.length >= this.decideAfterChars) return true;
    const end = SENTENCE_END.exec(text);
    // The tail after the sentence must not be the start of a tag that would change the verdict.
    return end !== null && partialTagLength(text, [OPEN, CLOSE]) === 0;
  }

  private emitAllButPartialTag(type: ThoughtPieceType, out: ThoughtPiece[]): void {
    const tags = type === 'reasoning' && !this.openByAssumption ? [CLOSE] : [OPEN, CLOSE];
    const keep = partialTagLength(this.buffer, tags);
    this.emit(type, this.buffer.slice(0, this.buffer.length - keep), out);
    this.buffer = this.buffer.slice(this.buffer.length - keep);
  }

  private emit(type: ThoughtPieceType, raw: string, out: ThoughtPiece[]): void {
    // Held whitespace already separates this text from what came before; do not double it.
    const pending = this.pendingSpace[type];
    let text = pending ? pending + (this.afterTag[type] ? raw.trimStart() : raw) : raw;
    if (raw !== '') this.afterTag[type] = false;
    this.pendingSpace[type] = '';
    if (!this.emittedAny[type]) text = text.trimStart();
    const trailing = /\s+$/.exec(text);
    if (trailing) {
      this.pendingSpace[type] = trailing[0];
      text = text.slice(0, trailing.index);
    }
    if (text === '') return;
    this.emittedAny[type] = true;
    if (type === 'text' && this.guessedText) this.guessedSoFar += text;
    const last = out[out.length - 1];
    if (last && last.type === type) last.text += text;
    else out.push({ type, text });
  }
}

function firstTag(buf: string): { tag: string; index: number } | undefined {
  const open = buf.indexOf(OPEN);
  const close = buf.indexOf(CLOSE);
  if (open === -1 && close === -1) return undefined;
  if (close === -1 || (open !== -1 && open < close)) return { tag: OPEN, index: open };
  return { tag: CLOSE, index: close };
}

/** Length of the longest suffix of `text` that is a proper prefix of one of `tags`. */
export function partialTagLength(text: string, tags: readonly string[]): number {
  let best = 0;
  for (const tag of tags) {
    for (let n = Math.min(tag.length - 1, text.length); n > best; n--) {
      if (text.endsWith(tag.slice(0, n))) {
        best = n;
        break;
      }
    }
  }
  return best;
}
