import { describe, expect, it } from 'vitest';
import { cleanTitle } from './conversation-title.js';

describe('cleanTitle', () => {
  it('keeps the first line without quotes, labels or end punctuation', () => {
    expect(cleanTitle('“Planning a picnic”')).toBe('Planning a picnic');
    expect(cleanTitle('Title: "Rainbows explained."\nMore text')).toBe('Rainbows explained');
    expect(cleanTitle('\n\n**Dinner ideas**\n')).toBe('Dinner ideas');
    expect(cleanTitle('<think>the user wants food</think>Dinner for two')).toBe('Dinner for two');
  });

  it('keeps what the model wrote otherwise (punctuation inside, accents)', () => {
    expect(cleanTitle("Kids' crêpes, fast")).toBe("Kids' crêpes, fast");
  });

  it('cuts a long answer to a few words and gives nothing for an empty one', () => {
    expect(cleanTitle('one two three four five six seven eight nine ten')).toBe(
      'one two three four five six seven eight',
    );
    expect(cleanTitle('   \n  ')).toBeUndefined();
    expect(cleanTitle('""')).toBeUndefined();
  });
});
