import { describe, expect, it } from 'vitest';
import { SseParser, readSseStream, type SseEvent } from './sse.js';

function parseAll(pieces: string[]): SseEvent[] {
  const parser = new SseParser();
  const events = pieces.flatMap((p) => parser.push(p));
  return [...events, ...parser.end()];
}

/** Every way of cutting `text` into two pieces, plus one character at a time. */
function allSplits(text: string): string[][] {
  const splits: string[][] = [[text], [...text]];
  for (let i = 1; i < text.length; i++) splits.push([text.slice(0, i), text.slice(i)]);
  return splits;
}

const vllmLike =
  'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n' +
  ': keep-alive\n\n' +
  'data: {"choices":[{"delta":{"content":"lo"}}]}\n\n' +
  'data: [DONE]\n\n';

const expected = [
  { data: '{"choices":[{"delta":{"content":"Hel"}}]}' },
  { data: '{"choices":[{"delta":{"content":"lo"}}]}' },
  { data: '[DONE]' },
];

describe('SseParser', () => {
  it('gives the same events wherever the chunk boundaries fall (LF)', () => {
    for (const pieces of allSplits(vllmLike)) expect(parseAll(pieces)).toEqual(expected);
  });

  it('gives the same events wherever the chunk boundaries fall (CRLF, CR)', () => {
    for (const eol of ['\r\n', '\r']) {
      const text = vllmLike.replaceAll('\n', eol);
      for (const pieces of allSplits(text)) expect(parseAll(pieces)).toEqual(expected);
    }
  });

  it('counts comment lines and never turns them into events', () => {
    const parser = new SseParser();
    expect(parser.push(': ping\n\n:\n\n')).toEqual([]);
    expect(parser.comments).toBe(2);
  });

  it('joins multi-line data with newlines and keeps the event name', () => {
    expect(parseAll(['event: message\ndata: {"a":\ndata: 1}\n\n'])).toEqual([
      { event: 'message', data: '{"a":\n1}' },
    ]);
  });

  it('strips exactly one space after the colon and accepts no space', () => {
    expect(parseAll(['data:x\n\ndata:  y\n\n'])).toEqual([{ data: 'x' }, { data: ' y' }]);
  });

  it('dispatches an event the server did not terminate with a blank line', () => {
    expect(parseAll(['data: [DONE]'])).toEqual([{ data: '[DONE]' }]);
    expect(parseAll(['data: [DONE]\r'])).toEqual([{ data: '[DONE]' }]);
  });

  it('ignores id and retry fields and blank lines with no data', () => {
    expect(parseAll(['id: 7\nretry: 100\n\n\n\ndata: a\n\n'])).toEqual([{ data: 'a' }]);
  });
});

describe('readSseStream', () => {
  it('decodes UTF-8 characters split across byte chunks', async () => {
    const bytes = new TextEncoder().encode('data: héllo 👋\n\n');
    async function* oneByteAtATime() {
      for (const b of bytes) yield new Uint8Array([b]);
    }
    const events: SseEvent[] = [];
    for await (const ev of readSseStream(oneByteAtATime())) events.push(ev);
    expect(events).toEqual([{ data: 'héllo 👋' }]);
  });
});
