import { describe, expect, it } from 'vitest';
import { SentenceSegmenter } from './sentence-segmenter.js';
import { toSpeakable } from './speakable.js';

/** Feeds text in chunks of `size` characters, as a token stream would. */
function segment(text: string, size: number, options = {}): string[] {
  const s = new SentenceSegmenter(options);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(...s.push(text.slice(i, i + size)));
  out.push(...s.flush());
  return out;
}

describe('SentenceSegmenter', () => {
  const text =
    'Hello there, my friend. Dr. Smith paid $3.50 for it, e.g. at 9 a.m. today! Is that right? "Yes," he said. Done';

  it.each([1, 2, 3, 7, 1000])('splits the same way whatever the chunk size (%i)', (size) => {
    expect(segment(text, size)).toEqual([
      'Hello there, my friend.',
      'Dr. Smith paid $3.50 for it, e.g. at 9 a.m. today!',
      'Is that right?',
      '"Yes," he said.',
      'Done',
    ]);
  });

  it('emits a sentence as soon as the next character arrives, before the stream ends', () => {
    const s = new SentenceSegmenter();
    expect(s.push('The first sentence is here.')).toEqual([]);
    expect(s.push(' The')).toEqual(['The first sentence is here.']);
    expect(s.flush()).toEqual(['The']);
  });

  it('keeps closing quotes and brackets with their sentence', () => {
    expect(segment('He said "stop right there." (And he meant it.) Fine then.', 4)).toEqual([
      'He said "stop right there."',
      '(And he meant it.)',
      'Fine then.',
    ]);
  });

  it('cuts at paragraph breaks and CJK terminators', () => {
    expect(segment('A list of things\n\nNext paragraph here', 5)).toEqual([
      'A list of things',
      'Next paragraph here',
    ]);
    expect(segment('今日は良い天気ですね。明日も晴れるでしょうか？はい', 2, { minChars: 2 })).toEqual([
      '今日は良い天気ですね。',
      '明日も晴れるでしょうか？',
      'はい',
    ]);
  });

  it('cuts a long first sentence at a clause boundary to get audio out early', () => {
    const long =
      'This is a long opening clause that keeps going and going, and then it carries on much further with no full stop';
    const parts = segment(long, 3, { firstMaxChars: 60 });
    expect(parts[0]).toBe('This is a long opening clause that keeps going and going,');
    expect(parts.join(' ')).toBe(long);
  });

  it('merges very short sentences with the next one', () => {
    expect(segment('Ok. Sure. That works for me.', 2, { minChars: 8 })).toEqual([
      'Ok. Sure.',
      'That works for me.',
    ]);
  });

  it('returns nothing for whitespace', () => {
    expect(segment('   \n  ', 1)).toEqual([]);
  });
});

describe('toSpeakable', () => {
  it('drops markdown, code and URLs but keeps the words', () => {
    const md =
      '## Title\n**Bold** and *soft* words.\n- item one\n```js\nx=1\n```\nSee [docs](http://x.y) or https://a.b/c 🎉';
    expect(toSpeakable(md)).toBe(
      'Title\nBold and soft words.\nitem one\n (code omitted) \nSee docs or a link',
    );
  });
});
