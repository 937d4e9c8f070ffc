import { describe, expect, it } from 'vitest';
import { MalformedOutputError, ProviderError } from '../../util/errors.js';
import { OpenAiStreamDecoder, errorMessage } from './openai-stream.js';
import { parseRetryAfter } from './openai-http.js';

const decoder = (model = 'm') => new OpenAiStreamDecoder({ provider: 'test-llm', model, thinking: 'never' });
const delta = (d: Record<string, unknown>, finish: string | null = null) => ({
  choices: [{ index: 0, delta: d, finish_reason: finish }],
});

describe('OpenAiStreamDecoder', () => {
  it('emits tool calls only at the end, in index order, even when deltas interleave', () => {
    const d = decoder();
    expect(
      d.push(
        delta({ tool_calls: [{ index: 1, id: 'b', function: { name: 'second', arguments: '{"y":' } }] }),
      ),
    ).toEqual([]);
    d.push(delta({ tool_calls: [{ index: 0, id: 'a', function: { name: 'first', arguments: '' } }] }));
    d.push(
      delta({
        tool_calls: [
          { index: 1, function: { arguments: '2}' } },
          { index: 0, function: { arguments: '{}' } },
        ],
      }),
    );
    d.push(delta({}, 'tool_calls'));
    expect(d.finish()).toEqual([
      { type: 'tool_call', call: { id: 'a', name: 'first', arguments: '{}' } },
      { type: 'tool_call', call: { id: 'b', name: 'second', arguments: '{"y":2}' } },
      { type: 'done', finishReason: 'tool_calls' },
    ]);
  });

  it('does not double a name a server repeats in every delta, and fills in a missing id and arguments', () => {
    const d = decoder();
    d.push(delta({ tool_calls: [{ index: 0, function: { name: 'ping' } }] }));
    d.push(delta({ tool_calls: [{ index: 0, function: { name: 'ping', arguments: '' } }] }));
    const [call] = d.finish();
    expect(call).toMatchObject({ type: 'tool_call', call: { name: 'ping', arguments: '{}' } });
    expect(call?.type === 'tool_call' && call.call.id).toMatch(/^call_/);
  });

  it('rejects a tool call that never got a name', () => {
    const d = decoder();
    d.push(delta({ tool_calls: [{ index: 0, id: 'x', function: { arguments: '{}' } }] }));
    expect(() => d.finish()).toThrow(MalformedOutputError);
  });

  it('ignores other choices and reports usage from the trailing chunk', () => {
    const d = decoder();
    expect(d.push({ choices: [{ index: 1, delta: { content: 'other' } }] })).toEqual([]);
    expect(d.push(delta({ content: 'mine' }, 'length'))).toEqual([{ type: 'text', text: 'mine' }]);
    expect(
      d.push({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } }),
    ).toEqual([]);
    expect(d.finish()).toEqual([
      { type: 'done', finishReason: 'length', usage: { promptTokens: 5, completionTokens: 1 } },
    ]);
  });

  it('reports the reasoning tokens a server counts inside the completion tokens', () => {
    const d = decoder();
    d.push(delta({ content: 'x' }, 'stop'));
    d.push({
      choices: [],
      usage: { prompt_tokens: 9, completion_tokens: 40, completion_tokens_details: { reasoning_tokens: 31 } },
    });
    expect(d.finish()).toEqual([
      {
        type: 'done',
        finishReason: 'stop',
        usage: { promptTokens: 9, completionTokens: 40, reasoningTokens: 31 },
      },
    ]);
  });

  it('turns an error payload into a ProviderError and a non-object into MalformedOutputError', () => {
    expect(() => decoder().push({ error: { message: 'out of memory' } })).toThrow(/out of memory/);
    expect(() => decoder().push({ error: 'x' })).toThrow(ProviderError);
    expect(() => decoder().push([1, 2])).toThrow(MalformedOutputError);
  });
});

describe('errorMessage', () => {
  it('reads the message from every common error shape', () => {
    expect(errorMessage({ error: { message: 'a' } })).toBe('a');
    expect(errorMessage({ object: 'error', message: 'b' })).toBe('b');
    expect(errorMessage({ detail: 'c' })).toBe('c');
    expect(errorMessage({ error: 'd' })).toBe('d');
    expect(errorMessage('  e ')).toBe('e');
    expect(errorMessage({})).toBeUndefined();
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0.5')).toBe(500);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
