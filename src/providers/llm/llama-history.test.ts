import type { GbnfJsonSchema } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';

import type { ChatMessage } from '../types.js';
import { toGbnfSchema, toLlamaFunctions, toLlamaHistory } from './llama-history.js';
import { getSharedLlama } from './llama-runtime.js';

const call = { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' };

describe('toLlamaHistory', () => {
  it('maps system, user and assistant messages and opens a new model turn', () => {
    const history = toLlamaHistory([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Weather?' },
    ]);
    expect(history).toEqual([
      { type: 'system', text: 'Be brief.' },
      { type: 'user', text: 'Hi' },
      { type: 'model', response: ['Hello!'] },
      { type: 'user', text: 'Weather?' },
      { type: 'model', response: [] },
    ]);
  });

  it('puts tool results into the calls they answer and continues that model turn', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '', toolCalls: [call, { ...call, id: 'call_2', arguments: 'not json' }] },
      { role: 'tool', toolCallId: 'call_2', content: 'plain text result' },
      { role: 'tool', toolCallId: 'call_1', content: '{"temperature":21}' },
    ];
    const history = toLlamaHistory(messages);
    expect(history).toHaveLength(2);
    expect(history[1]).toEqual({
      type: 'model',
      response: [
        { type: 'functionCall', name: 'get_weather', params: { city: 'Paris' }, result: { temperature: 21 } },
        { type: 'functionCall', name: 'get_weather', params: 'not json', result: 'plain text result' },
      ],
    });
  });

  it('renders through the Qwen chat wrapper as the Qwen3 template does', async () => {
    const { QwenChatWrapper } = await import('node-llama-cpp');
    const history = toLlamaHistory([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '', toolCalls: [call] },
      { role: 'tool', toolCallId: 'call_1', content: '{"temperature":21}' },
    ]);
    const functions = toLlamaFunctions([{ name: 'get_weather', description: 'Weather', parameters: {} }]);
    const { contextText } = new QwenChatWrapper().generateContextState({
      chatHistory: history,
      ...(functions ? { availableFunctions: functions } : {}),
    });
    const prompt = contextText.toString();
    expect(prompt).toContain(
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    );
    expect(prompt).toContain('<tool_response>\n{"temperature": 21}\n</tool_response>');
    expect(prompt.endsWith('<|im_start|>assistant\n')).toBe(true);
  });

  it('keeps a tool result whose call is gone as a user message', () => {
    const history = toLlamaHistory([{ role: 'tool', toolCallId: 'gone', name: 'clock', content: '12:00' }]);
    expect(history[0]).toEqual({ type: 'user', text: 'Result of clock: 12:00' });
    expect(history.at(-1)).toEqual({ type: 'model', response: [] });
  });
});

describe('toGbnfSchema', () => {
  it('keeps what a grammar can express and drops the rest', () => {
    expect(
      toGbnfSchema({
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        properties: {
          email: { type: 'string', format: 'email', pattern: '.+@.+' },
          when: { type: 'string', format: 'date', description: 'Day' },
          unit: { enum: ['C', 'F'] },
          count: { type: 'integer', minimum: 1 },
          tags: { type: 'array', items: { type: 'string' }, maxItems: 3, uniqueItems: true },
          either: { anyOf: [{ type: 'string' }, { type: 'null' }] },
          blob: { not: { type: 'string' } },
        },
        required: ['email', 42],
      }),
    ).toEqual({
      type: 'object',
      properties: {
        email: { type: 'string' },
        when: { type: 'string', format: 'date', description: 'Day' },
        unit: { enum: ['C', 'F'] },
        count: { type: 'integer' },
        tags: { type: 'array', items: { type: 'string' }, maxItems: 3 },
        either: { oneOf: [{ type: 'string' }, { type: 'null' }] },
        blob: { type: ['string', 'number', 'boolean', 'null'] },
      },
      required: ['email'],
      additionalProperties: false,
    });
  });

  it('produces schemas node-llama-cpp turns into grammars', async () => {
    const llama = await getSharedLlama();
    const schemas = [
      { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      { type: 'object' },
      {
        type: 'object',
        properties: { n: { type: ['number', 'null'] } },
        additionalProperties: { type: 'string' },
      },
      {},
    ];
    for (const schema of schemas) {
      const grammar = await llama.createGrammarForJsonSchema<GbnfJsonSchema>(toGbnfSchema(schema));
      expect(grammar.grammar.length).toBeGreaterThan(0);
    }
  });

  it('toLlamaFunctions makes arguments an object, and returns undefined without tools', () => {
    const functions = toLlamaFunctions([
      { name: 'now', description: 'Current time', parameters: {} },
      { name: 'say', description: 'Say', parameters: { properties: { text: { type: 'string' } } } },
    ]);
    expect(functions?.now).toEqual({
      description: 'Current time',
      params: { type: 'object', additionalProperties: true },
    });
    expect(functions?.say?.params).toEqual({
      type: 'object',
      properties: { text: { type: 'string' } },
      required: [],
      additionalProperties: false,
    });
    expect(toLlamaFunctions(undefined)).toBeUndefined();
    expect(toLlamaFunctions([])).toBeUndefined();
  });
});
