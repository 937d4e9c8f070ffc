import { describe, expect, it } from 'vitest';
import { MalformedOutputError } from '../../util/errors.js';
import { HermesToolCallParser, type HermesPiece } from './hermes-tool-calls.js';

function run(chunks: string[]): {
  text: string;
  calls: { name: string; arguments: string }[];
  pieces: HermesPiece[];
} {
  const parser = new HermesToolCallParser('test-llm');
  const pieces = [...chunks.flatMap((c) => parser.push(c)), ...parser.end()];
  return {
    pieces,
    text: pieces.map((p) => (p.type === 'text' ? p.text : '')).join(''),
    calls: pieces.flatMap((p) =>
      p.type === 'tool_call' ? [{ name: p.call.name, arguments: p.call.arguments }] : [],
    ),
  };
}

function everySplit(s: string): string[][] {
  const out: string[][] = [[s], [...s]];
  for (let i = 1; i < s.length; i++) out.push([s.slice(0, i), s.slice(i)]);
  return out;
}

const twoCalls =
  'Let me check both.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n' +
  '<tool_call>\n{"name": "get_time", "arguments": {"timezone": "Europe/Paris"}}\n</tool_call>\nOne moment.';

describe('HermesToolCallParser', () => {
  it('extracts every call and removes it from the text, wherever the chunks are cut', () => {
    for (const chunks of everySplit(twoCalls)) {
      const got = run(chunks);
      expect(got.calls).toEqual([
        { name: 'get_weather', arguments: '{"city":"Paris"}' },
        { name: 'get_time', arguments: '{"timezone":"Europe/Paris"}' },
      ]);
      expect(got.text).toBe('Let me check both.\nOne moment.');
      for (const p of got.pieces) if (p.type === 'text') expect(p.text).not.toMatch(/tool_call/);
    }
  });

  it('keeps the order of text and calls', () => {
    expect(run([twoCalls]).pieces.map((p) => p.type)).toEqual(['text', 'tool_call', 'tool_call', 'text']);
  });

  it('gives each call a distinct id', () => {
    const ids = run([twoCalls]).pieces.flatMap((p) => (p.type === 'tool_call' ? [p.call.id] : []));
    expect(ids).toHaveLength(2);
    expect(ids[0]).toMatch(/^call_[0-9a-f]{24}$/);
    expect(new Set(ids).size).toBe(2);
  });

  it('streams text at once and holds back only what could start a tag', () => {
    const parser = new HermesToolCallParser('test-llm');
    expect(parser.push('Hi <tool')).toEqual([{ type: 'text', text: 'Hi' }]);
    expect(parser.push('box> there')).toEqual([{ type: 'text', text: ' <toolbox> there' }]);
  });

  it('accepts string arguments, "parameters", and no arguments at all', () => {
    const got = run([
      '<tool_call>{"name":"a","arguments":"{\\"x\\":1}"}</tool_call>',
      '<tool_call>{"name":"b","parameters":{"y":2}}</tool_call>',
      '<tool_call>{"name":"c"}</tool_call>',
    ]);
    expect(got.calls).toEqual([
      { name: 'a', arguments: '{"x":1}' },
      { name: 'b', arguments: '{"y":2}' },
      { name: 'c', arguments: '{}' },
    ]);
    expect(got.text).toBe('');
  });

  it('accepts a final block whose closing tag never came if its JSON is complete', () => {
    expect(run(['<tool_call>\n{"name":"stop_timer","arguments":{}}\n']).calls).toEqual([
      { name: 'stop_timer', arguments: '{}' },
    ]);
  });

  it('throws MalformedOutputError for broken JSON, a missing name, or a truncated block', () => {
    const parser = new HermesToolCallParser('test-llm');
    expect(() => parser.push('<tool_call>{"name": "x", "arguments": {</tool_call>')).toThrow(
      MalformedOutputError,
    );
    expect(() => run(['<tool_call>{"arguments": {}}</tool_call>'])).toThrow(/no name/);
    expect(() => run(['<tool_call>{"name": "x", "argu'])).toThrow(/not valid JSON/);
    expect(() => run(['<tool_call>  '])).toThrow(MalformedOutputError);
    let caught: unknown;
    try {
      run(['<tool_call>oops</tool_call>']);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MalformedOutputError);
    expect((caught as MalformedOutputError).retryable).toBe(true);
    expect((caught as MalformedOutputError).message).toContain('oops');
  });

  it('leaves text without tags untouched', () => {
    expect(run(['The answer', ' is 42.']).text).toBe('The answer is 42.');
  });
});
