/**
 * The behaviour every LanguageModel must show, whatever runs behind it: an HTTP server, an embedded
 * llama.cpp model with random weights. The suite never asserts what the model says, only the shape of the
 * stream: text arrives, one final done, no think/tool_call markup in the text, reasoning kept apart,
 * cancellation honoured.
 *
 * Usage, in an implementation's test file:
 *   describeLanguageModelBehaviour('openai', async () => ({ model: new OpenAiLanguageModel(...), cleanup }));
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectChat, type ChatRequest, type LanguageModel, type LlmStreamEvent } from '../types.js';
import { CancelledError } from '../../util/errors.js';

export interface LanguageModelBehaviourOptions {
  /** maxTokens for every request; keep small for slow engines. Default 48. */
  maxTokens?: number;
  /** How soon after abort() the stream must have stopped. Default 2000 ms. */
  abortWithinMs?: number;
  /** Whether the implementation accepts assistant tool calls and tool results in the history. Default true. */
  toolHistory?: boolean;
}

export type MakeLanguageModel = () => Promise<{ model: LanguageModel; cleanup?: () => Promise<void> }>;

const MARKUP = /<\/?think>|<\/?tool_call>/;

export function describeLanguageModelBehaviour(
  name: string,
  makeModel: MakeLanguageModel,
  options: LanguageModelBehaviourOptions = {},
): void {
  const maxTokens = options.maxTokens ?? 48;
  const abortWithinMs = options.abortWithinMs ?? 2000;

  describe(`LanguageModel behaviour: ${name}`, () => {
    let model: LanguageModel;
    let cleanup: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      ({ model, cleanup } = await makeModel());
      await model.load();
    });

    afterAll(async () => {
      await model?.close();
      await cleanup?.();
    });

    const ask = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
      messages: [
        { role: 'system', content: 'You are a helpful assistant. Answer in one short sentence.' },
        { role: 'user', content },
      ],
      maxTokens,
      temperature: 0,
      ...extra,
    });

    async function drain(request: ChatRequest): Promise<LlmStreamEvent[]> {
      const events: LlmStreamEvent[] = [];
      for await (const event of model.chatStream(request)) events.push(event);
      return events;
    }

    it('names itself and its model', () => {
      expect(model.name).toMatch(/\S/);
      expect(model.model).toMatch(/\S/);
    });

    it('yields at least one text event and exactly one done event, last', async () => {
      const events = await drain(ask('Say hello.'));
      const texts = events.filter((e) => e.type === 'text');
      expect(texts.length).toBeGreaterThanOrEqual(1);
      for (const e of texts) expect(e.text).not.toBe('');
      expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
      const last = events.at(-1);
      expect(last?.type).toBe('done');
      if (last?.type === 'done') expect(last.finishReason).toMatch(/\S/);
    });

    it('never puts think or tool_call markup into text events', async () => {
      const events = await drain(ask('What is two plus two? Think it through.'));
      for (const e of events) if (e.type === 'text') expect(e.text).not.toMatch(MARKUP);
      const text = events.map((e) => (e.type === 'text' ? e.text : '')).join('');
      expect(text).not.toMatch(MARKUP);
    });

    it('keeps reasoning apart from the answer text', async () => {
      const events = await drain(ask('Why is the sky blue?'));
      const reasoning = events.map((e) => (e.type === 'reasoning' ? e.text : '')).join('');
      const text = events.map((e) => (e.type === 'text' ? e.text : '')).join('');
      for (const e of events) {
        if (e.type === 'reasoning') expect(typeof e.text).toBe('string');
        if (e.type === 'tool_call') expect(e.call.name).toMatch(/\S/);
      }
      // Only a reasoning long enough to be distinctive can be looked for in the text.
      if (reasoning.trim().length >= 16) expect(text).not.toContain(reasoning.trim());
      expect(reasoning).not.toMatch(MARKUP);
    });

    it('stops promptly with CancelledError when the signal aborts mid-stream', async () => {
      const controller = new AbortController();
      const stream = model.chatStream(ask('Count from one to one hundred.', { signal: controller.signal }));
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.done).toBe(false);
      const abortedAt = Date.now();
      controller.abort();
      // Once aborted, no further event may come out: the next read fails, even if output was buffered.
      let caught: unknown;
      try {
        for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
          throw new Error(`event after abort: ${JSON.stringify(r.value)}`);
        }
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(CancelledError);
      expect(Date.now() - abortedAt).toBeLessThan(abortWithinMs);
    });

    it('throws CancelledError without output when the signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      const events: LlmStreamEvent[] = [];
      await expect(
        (async () => {
          for await (const e of model.chatStream(ask('Hello?', { signal: controller.signal })))
            events.push(e);
        })(),
      ).rejects.toBeInstanceOf(CancelledError);
      expect(events).toEqual([]);
    });

    it('loads idempotently, also when asked twice at once', async () => {
      await model.load();
      await Promise.all([model.load(), model.load()]);
      const result = await collectChat(model.chatStream(ask('Still there?')));
      expect(result.text).toMatch(/\S/);
    });

    it('drains into one result with collectChat', async () => {
      const result = await collectChat(model.chatStream(ask('Name a colour.')));
      expect(result.text).toMatch(/\S/);
      expect(result.text).not.toMatch(MARKUP);
      expect(result.finishReason).not.toBe('unknown');
      expect(Array.isArray(result.toolCalls)).toBe(true);
    });

    it('accepts a multi-turn history', async () => {
      const result = await collectChat(
        model.chatStream({
          messages: [
            { role: 'system', content: 'You are a helpful assistant.' },
            { role: 'user', content: 'My name is Ada.' },
            { role: 'assistant', content: 'Nice to meet you, Ada.' },
            { role: 'user', content: 'I live in Paris.' },
            { role: 'assistant', content: 'Paris is lovely.' },
            { role: 'user', content: 'What is my name?' },
          ],
          maxTokens,
          temperature: 0,
        }),
      );
      expect(result.text).toMatch(/\S/);
    });

    it.skipIf(options.toolHistory === false)(
      'accepts tool calls and tool results in the history',
      async () => {
        const result = await collectChat(
          model.chatStream({
            messages: [
              { role: 'user', content: 'What is the weather in Oslo?' },
              {
                role: 'assistant',
                content: '',
                toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
              },
              { role: 'tool', toolCallId: 'call_1', name: 'get_weather', content: '{"temperature_c":4}' },
            ],
            tools: [
              {
                name: 'get_weather',
                description: 'Current weather for a city',
                parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
              },
            ],
            maxTokens,
            temperature: 0,
          }),
        );
        expect(result.finishReason).not.toBe('unknown');
        expect(result.text).not.toMatch(MARKUP);
      },
    );

    it('closes cleanly, twice in a row', async () => {
      const fresh = await makeModel();
      try {
        await fresh.model.load();
        await fresh.model.close();
        await fresh.model.close();
      } finally {
        await fresh.cleanup?.();
      }
    });
  });
}
