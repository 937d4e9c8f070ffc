import { describe, expect, it } from 'vitest';
import {
  ThinkTagSplitter,
  partialTagLength,
  type ThinkTagSplitterOptions,
  type ThoughtPiece,
} from './think-splitter.js';

interface Split {
  reasoning: string;
  text: string;
  pieces: ThoughtPiece[];
}

function run(chunks: string[], options: ThinkTagSplitterOptions, finishReason = 'stop'): Split {
  const splitter = new ThinkTagSplitter(options);
  const pieces = [...chunks.flatMap((c) => splitter.push(c)), ...splitter.end(finishReason)];
  // What a consumer ends with: a 'retract' moves the text so far over to the reasoning.
  let reasoning = '';
  let text = '';
  for (const p of pieces) {
    if (p.type === 'reasoning') reasoning += p.text;
    else if (p.type === 'text') text += p.text;
    else {
      expect(p.text).toBe(text);
      reasoning += p.text;
      text = '';
    }
  }
  return { reasoning, text, pieces };
}

/** The whole string, one character at a time, and every cut into two and three pieces. */
function everySplit(s: string): string[][] {
  const out: string[][] = [[s], [...s]];
  for (let i = 1; i < s.length; i++) {
    out.push([s.slice(0, i), s.slice(i)]);
    for (let j = i + 1; j < s.length; j += 3) out.push([s.slice(0, i), s.slice(i, j), s.slice(j)]);
  }
  return out;
}

function expectEverySplit(
  s: string,
  options: ThinkTagSplitterOptions,
  expected: { reasoning: string; text: string },
) {
  for (const chunks of everySplit(s)) {
    const got = run(chunks, options);
    expect({ chunks, reasoning: got.reasoning, text: got.text }).toEqual({ chunks, ...expected });
    // No piece ever carries a tag or a fragment of one that later turned out to be a tag.
    for (const p of got.pieces) expect(p.text).not.toMatch(/<\/?think>/);
  }
}

describe('ThinkTagSplitter: inline <think> blocks', () => {
  const s = '<think>\nThe user greets me.\n</think>\n\nHello there! How can I help?';
  const expected = { reasoning: 'The user greets me.', text: 'Hello there! How can I help?' };

  it('separates the thought in auto mode, wherever the chunks are cut', () => {
    expectEverySplit(s, { mode: 'auto', model: 'deepseek-r1' }, expected);
  });

  it('separates it in never mode too, so tags are never spoken', () => {
    expectEverySplit(s, { mode: 'never' }, expected);
  });

  it('separates it for a thinking model that emits the opening tag anyway', () => {
    expectEverySplit(s, { mode: 'auto', model: 'Qwen3-30B-A3B-Thinking-2507' }, expected);
    expectEverySplit(s, { mode: 'always-open' }, expected);
  });

  it('handles an empty thought (Qwen3 hybrid with thinking switched off)', () => {
    expectEverySplit(
      '<think>\n\n</think>\n\nSure.',
      { mode: 'auto', model: 'qwen3-8b' },
      { reasoning: '', text: 'Sure.' },
    );
  });

  it('keeps text before the thought and a second block apart', () => {
    const got = run(['Hmm. <think>a</think> B <think>c</think> D'], { mode: 'never' });
    expect(got).toMatchObject({ reasoning: 'ac', text: 'Hmm. B D' });
  });
});

describe('ThinkTagSplitter: Qwen3-Thinking-2507 (no opening tag)', () => {
  const s = 'Okay, the user asks for the time. I cannot know it.\n</think>\n\nI do not have a clock, sorry.';
  const expected = {
    reasoning: 'Okay, the user asks for the time. I cannot know it.',
    text: 'I do not have a clock, sorry.',
  };

  it('treats everything before </think> as reasoning when the name says Thinking', () => {
    expectEverySplit(s, { mode: 'auto', model: 'Qwen/Qwen3-30B-A3B-Thinking-2507' }, expected);
  });

  it('does the same in always-open mode whatever the name', () => {
    expectEverySplit(s, { mode: 'always-open', model: 'qwen' }, expected);
  });

  it('also works in auto mode without the name when </think> arrives before a sentence ends', () => {
    expectEverySplit(
      'Okay, the user asks for the time</think>Sorry, no clock.',
      { mode: 'auto', model: 'x' },
      {
        reasoning: 'Okay, the user asks for the time',
        text: 'Sorry, no clock.',
      },
    );
  });

  it('streams reasoning as it arrives in always-open mode, holding back only a possible tag', () => {
    const splitter = new ThinkTagSplitter({ mode: 'always-open' });
    expect(splitter.push('Let me think</')).toEqual([{ type: 'reasoning', text: 'Let me think' }]);
    expect(splitter.push('thi')).toEqual([]);
    expect(splitter.push('nk>Yes.')).toEqual([{ type: 'text', text: 'Yes.' }]);
  });

  it('holds content for a Thinking-named model until </think> confirms the thought', () => {
    const splitter = new ThinkTagSplitter({ mode: 'auto', model: 'Qwen3-4B-Thinking-2507' });
    expect(splitter.push('Okay. Plan the answer. ')).toEqual([]);
    expect(splitter.push('</think>Done.')).toEqual([
      { type: 'reasoning', text: 'Okay. Plan the answer.' },
      { type: 'text', text: 'Done.' },
    ]);
  });

  it('judges held content of a Thinking-named model as answer when it ends normally without </think>', () => {
    expect(run(['Just an answer. ', 'No thought.'], { model: 'x-thinking' }, 'stop')).toMatchObject({
      reasoning: '',
      text: 'Just an answer. No thought.',
    });
  });

  it('judges it as a truncated thought when the reply hit the token limit', () => {
    expect(
      run(['Okay, I need to consider', ' many things'], { model: 'x-thinking' }, 'length'),
    ).toMatchObject({
      reasoning: 'Okay, I need to consider many things',
      text: '',
    });
  });
});

describe('ThinkTagSplitter: plain answers', () => {
  const s = 'The capital of France is Paris. It is on the Seine.';

  it('passes them through unchanged in every mode that does not assume a thought', () => {
    expectEverySplit(s, { mode: 'auto', model: 'llama-3.1-8b' }, { reasoning: '', text: s });
    expectEverySplit(s, { mode: 'never' }, { reasoning: '', text: s });
  });

  it('keeps whitespace where chunks are cut inside it: code keeps its indentation', () => {
    const code = 'Here it is.\n\n```python\ndef f(x):\n    if x:\n        return 1\n    return 0\n```';
    for (const mode of ['auto', 'never', 'always-open'] as const)
      for (const chunks of everySplit(code)) {
        const r = run(mode === 'always-open' ? ['</think>', ...chunks] : chunks, { mode });
        expect(r.text, `${mode} ${JSON.stringify(chunks)}`).toBe(code);
      }
  });

  it('in auto mode releases text as soon as the first sentence is complete', () => {
    const splitter = new ThinkTagSplitter({ model: 'llama' });
    expect(splitter.push('Paris is')).toEqual([]);
    expect(splitter.push(' the capital.')).toEqual([]);
    expect(splitter.push(' It')).toEqual([{ type: 'text', text: 'Paris is the capital. It' }]);
    expect(splitter.push(' is big.')).toEqual([{ type: 'text', text: ' is big.' }]);
  });

  it('in auto mode releases text after decideAfterChars without a sentence end', () => {
    const splitter = new ThinkTagSplitter({ model: 'llama', decideAfterChars: 10 });
    expect(splitter.push('one two')).toEqual([]);
    expect(splitter.push(' three')).toEqual([{ type: 'text', text: 'one two three' }]);
  });

  it('does not mistake a decimal point for a sentence end', () => {
    const splitter = new ThinkTagSplitter({ model: 'llama' });
    expect(splitter.push('It costs 3.5 euros')).toEqual([]);
  });

  it('streams immediately in never mode', () => {
    const splitter = new ThinkTagSplitter({ mode: 'never' });
    expect(splitter.push('Hi')).toEqual([{ type: 'text', text: 'Hi' }]);
  });

  it('keeps a literal "<thi" that never became a tag', () => {
    expect(run(['a <thi', 'ng> b'], { mode: 'never' }).text).toBe('a <thing> b');
    expect(run(['x <thi'], { mode: 'never' }).text).toBe('x <thi');
  });

  it('drops a stray </think> after the answer started and counts it', () => {
    const splitter = new ThinkTagSplitter({ mode: 'never' });
    const pieces = [...splitter.push('Yes.</think> Indeed.'), ...splitter.end()];
    expect(pieces).toEqual([{ type: 'text', text: 'Yes. Indeed.' }]);
    expect(splitter.strayCloseTags).toBe(1);
  });

  it('retracts text judged as answer when a </think> shows it was a tagless thought', () => {
    const splitter = new ThinkTagSplitter({ model: 'qwen3' });
    expect(splitter.push('Okay, the user wants')).toEqual([]);
    expect(splitter.push(' a joke. Keep it short.')).toEqual([
      { type: 'text', text: 'Okay, the user wants a joke. Keep it short.' },
    ]);
    expect(splitter.push('\n</think>\n\nWhy did')).toEqual([
      { type: 'retract', text: 'Okay, the user wants a joke. Keep it short.' },
      { type: 'text', text: 'Why did' },
    ]);
    expect([...splitter.push(' the chicken cross?'), ...splitter.end()]).toEqual([
      { type: 'text', text: ' the chicken cross?' },
    ]);
    expect(splitter.closedUntaggedThought).toBe(true);
    expect(splitter.strayCloseTags).toBe(0);
  });

  it('moves a tagless thought to the reasoning wherever the chunks are cut', () => {
    const s = 'Okay. The user wants a joke. Keep it short.\n</think>\n\nWhy did the chicken cross the road?';
    expectEverySplit(
      s,
      { model: 'model' },
      {
        reasoning: 'Okay. The user wants a joke. Keep it short.',
        text: 'Why did the chicken cross the road?',
      },
    );
  });

  it('keeps the thought whole when the text before the tag arrives after the guess', () => {
    const got = run(['Okay. ', 'Think more.</think>Answer.'], { model: 'plain' });
    expect(got).toMatchObject({ text: 'Answer.', reasoning: 'Okay. Think more.' });
    expect(got.pieces.map((p) => p.type)).toEqual(['text', 'retract', 'reasoning', 'text']);
  });

  it('does not retract after an explicit thought, nor in never mode: a second </think> stays stray', () => {
    const tagged = new ThinkTagSplitter({ model: 'plain' });
    const pieces = [...tagged.push('<think>x</think>Yes. It is. '), ...tagged.push('Sure.</think>')];
    expect(pieces.some((p) => p.type === 'retract')).toBe(false);
    expect(tagged.strayCloseTags).toBe(1);
    const never = run(['Okay. Think more.', '</think>Answer.'], { mode: 'never' });
    expect(never).toMatchObject({ text: 'Okay. Think more.Answer.', reasoning: '' });
  });

  it('reports a thought closed without an opening tag, and a tagged one not', () => {
    const closeOnly = new ThinkTagSplitter({ model: 'qwen3' });
    closeOnly.push('Hmm.</think>Hi.');
    expect(closeOnly.closedUntaggedThought).toBe(true);
    const named = new ThinkTagSplitter({ model: 'Qwen3-Thinking-2507' });
    named.push('Hmm.</think>Hi.');
    expect(named.closedUntaggedThought).toBe(true);
    const tagged = new ThinkTagSplitter({ model: 'qwen3' });
    tagged.push('<think>Hmm.</think>Hi.');
    expect(tagged.closedUntaggedThought).toBe(false);
  });

  it('says when an always-open stream ended without any tag confirming the thought', () => {
    const open = new ThinkTagSplitter({ mode: 'always-open' });
    open.push('Just an answer.');
    open.end('stop');
    expect(open.endedInUnconfirmedThought).toBe(true);
    const closed = new ThinkTagSplitter({ mode: 'always-open' });
    closed.push('Hmm.</think>Hi.');
    closed.end('stop');
    expect(closed.endedInUnconfirmedThought).toBe(false);
  });
});

describe('ThinkTagSplitter: reasoning reported by the server in a separate field', () => {
  it('treats content as answer for a Thinking-named model once reasoning came separately', () => {
    const splitter = new ThinkTagSplitter({ model: 'Qwen3-30B-A3B-Thinking-2507' });
    expect(splitter.noteExternalReasoning()).toEqual([]);
    expect(splitter.push('Hello')).toEqual([{ type: 'text', text: 'Hello' }]);
  });

  it('releases content already held when the reasoning field shows up late', () => {
    const splitter = new ThinkTagSplitter({ model: 'plain' });
    expect(splitter.push('Hi')).toEqual([]);
    expect(splitter.noteExternalReasoning()).toEqual([{ type: 'text', text: 'Hi' }]);
  });

  it('still removes explicit tags afterwards', () => {
    const splitter = new ThinkTagSplitter({ mode: 'always-open' });
    splitter.noteExternalReasoning();
    const pieces = [...splitter.push('<think>x</think>Y'), ...splitter.end()];
    expect(pieces).toEqual([
      { type: 'reasoning', text: 'x' },
      { type: 'text', text: 'Y' },
    ]);
  });
});

describe('partialTagLength', () => {
  it('finds the longest suffix that could start a tag', () => {
    expect(partialTagLength('abc<', ['<think>', '</think>'])).toBe(1);
    expect(partialTagLength('abc</thin', ['<think>', '</think>'])).toBe(6);
    expect(partialTagLength('abc<think', ['<think>'])).toBe(6);
    expect(partialTagLength('abc<think>', ['<think>'])).toBe(0);
    expect(partialTagLength('abc', ['<think>'])).toBe(0);
  });
});
