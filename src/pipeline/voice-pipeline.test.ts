/**
 * The voice turn's branches on scripted engines (src/pipeline/testing): TTS failures, a retracted answer,
 * and the facts the caller decides. Real engines run in test/e2e/voice-turn.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { LlmStreamEvent } from '../providers/types.js';
import { CancelledError, ProviderError } from '../util/errors.js';
import { REPLIES } from './replies.js';
import { replyOf, ScriptedLanguageModel } from './testing/scripted-llm.js';
import { scriptedSpeechSeconds, ScriptedTextToSpeech } from './testing/scripted-tts.js';
import { scriptedPipeline } from './testing/run-turn.js';
import { toSpeakable } from './speakable.js';

const ANSWER = 'Paris is the capital. It is on the Seine.';
const broken = () => new ProviderError('scripted-tts', 'the speech server fell over', { retryable: true });

describe('TTS fallback', () => {
  it('replies with the whole text and a note when TTS fails, and counts the failure', async () => {
    const tts = new ScriptedTextToSpeech({ failOn: (t) => (t.includes('Seine') ? broken() : undefined) });
    const turn = scriptedPipeline({ llm: new ScriptedLanguageModel({ script: [replyOf(ANSWER)] }), tts });
    const result = await turn.run({ kind: 'text', text: 'capital of France?', speak: true });
    expect(result.status).toBe('ok');
    expect(result.text).toBe(ANSWER);
    expect(result.audio).toBeUndefined();
    expect(result.notes.join(' ')).toContain(REPLIES.ttsFailed);
    expect(await turn.registry.metrics()).toMatch(
      /errors_total\{service="tts",error_type="provider_error"\} 1/,
    );
  });

  it('stops speaking at the first failure: later sentences are not sent to the engine', async () => {
    const tts = new ScriptedTextToSpeech({
      failOn: (t) => (t.startsWith('The first') ? broken() : undefined),
    });
    const text = 'The first sentence is here. The second one follows it. The third one ends it.';
    const llm = new ScriptedLanguageModel({ script: [replyOf(text)] });
    const result = await scriptedPipeline({ llm, tts }).run({ kind: 'text', text: 'count', speak: true });
    expect(tts.spoken).toEqual(['The first sentence is here.']);
    expect(result.audio).toBeUndefined();
  });

  it('speaks a cancelled turn no further: cancellation is no TTS failure', async () => {
    const controller = new AbortController();
    const tts = new ScriptedTextToSpeech({ msPerAudioSecond: 1000 });
    const turn = scriptedPipeline({ llm: new ScriptedLanguageModel({ script: [replyOf(ANSWER)] }), tts });
    const pending = turn.run({
      kind: 'text',
      text: 'capital?',
      speak: true,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'sentence') controller.abort();
      },
    });
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('a retracted answer', () => {
  const thought = 'Okay, the user asks about France. That one is easy.';
  const events: LlmStreamEvent[] = [
    { type: 'text', text: 'Okay, the user asks about France.' },
    { type: 'text', text: ' That one is easy.' },
    { type: 'text', text: ' ' }, // the segmenter now has both sentences
    { type: 'retract', text: thought },
    { type: 'text', text: 'Paris.' },
    { type: 'done', finishReason: 'stop' },
  ];

  it('keeps the thought out of the text, the reasoning order and the voice note', async () => {
    const tts = new ScriptedTextToSpeech();
    const turn = scriptedPipeline({ llm: new ScriptedLanguageModel({ script: [events] }), tts });
    const result = await turn.run({
      kind: 'text',
      text: 'capital of France?',
      speak: true,
      replyFormat: 'wav',
    });
    expect(result.text).toBe('Paris.');
    expect(result.reasoning).toBe(thought);
    expect(result.newMessages.at(-1)).toEqual({ role: 'assistant', content: 'Paris.' });
    // the thought's first sentence was spoken before the retract came, and its audio was dropped
    expect(tts.spoken).toContain('Okay, the user asks about France.');
    const gap = 0.12;
    expect(result.audio!.durationSec).toBeCloseTo(scriptedSpeechSeconds(toSpeakable('Paris.')), 1);
    expect(result.audio!.durationSec).toBeLessThan(scriptedSpeechSeconds(thought) + gap);
    const retract = turn.events.find((e) => e.type === 'retract');
    expect(retract).toEqual({ type: 'retract', sentences: 2 });
  });

  it('gives the answer its voice even when TTS failed on the retracted thought', async () => {
    const tts = new ScriptedTextToSpeech({ failOn: (t) => (t.startsWith('Okay') ? broken() : undefined) });
    const turn = scriptedPipeline({ llm: new ScriptedLanguageModel({ script: [events] }), tts });
    const result = await turn.run({ kind: 'text', text: 'capital of France?', speak: true });
    expect(result.notes).toEqual([]);
    expect(result.audio?.format).toBe('ogg');
  });
});

describe('what the caller decides', () => {
  it('speaks only when asked to, whatever the input', async () => {
    const turn = scriptedPipeline();
    const silent = await turn.run({ kind: 'text', text: 'hello', speak: false });
    expect(silent.audio).toBeUndefined();
    expect(turn.tts.spoken).toEqual([]);
    const spoken = await turn.run({ kind: 'text', text: 'hello', speak: true });
    expect(spoken.audio?.format).toBe('ogg');
  });

  it('sends the history it was given, all of it, and returns the two new messages', async () => {
    const turn = scriptedPipeline({}, { historyTurns: 2 });
    const history = Array.from({ length: 6 }, (_, i) => ({
      role: i % 2 ? ('assistant' as const) : ('user' as const),
      content: `message ${i}`,
    }));
    const result = await turn.run({ kind: 'text', text: 'and now?', history, speak: false });
    const sent = turn.llm.requests[0]!.messages;
    expect(sent.map((m) => m.content).slice(1, -1)).toEqual(history.map((m) => m.content));
    expect(result.newMessages).toEqual([
      { role: 'user', content: 'and now?' },
      { role: 'assistant', content: result.text },
    ]);
  });
});
