/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked field by field */
/**
 * The web API and its live events against a Qwen3-Thinking-2507 served without a reasoning parser, under
 * three names: what a page following the events ends up showing, the reply, its voice and the history
 * sent on the next turn hold only the answer; the next turn already knows that the model thinks.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LATE_ANSWER, LATE_THOUGHT, scenarios } from '../helpers/fake-openai-scenarios.js';
import { SERVED_NAMES, expectAnswerOnly, spokenLengths, type SpokenLengths } from '../helpers/late-think.js';
import { ffprobeBuffer } from '../helpers/speech-fixtures.js';
import { apiClient, bearer as as, named } from './web-client.js';
import { readSse, startJune, type RunningJune, type SseEvent } from './web-harness.js';

const USER = 'user-token-aaaaaaaaaaaaaaaa';
let june: RunningJune | undefined;
let lengths: SpokenLengths;

beforeAll(async () => {
  lengths = await spokenLengths();
});

afterEach(async () => {
  await june?.stop();
  june = undefined;
});

const { send } = apiClient(() => june!.base);

/** The answer text a page shows from sentence and retract events, as chat.js builds it. */
function shown(events: SseEvent[]): string {
  let sentences: string[] = [];
  for (const e of events) {
    if (e.event === 'sentence') sentences[(e.data as any).index] = (e.data as any).text;
    if (e.event === 'retract') sentences = [];
  }
  return sentences.filter(Boolean).join(' ');
}

async function turn(conversation: string): Promise<{ events: SseEvent[]; result: any; audioUrl: string }> {
  june!.llm.enqueue(scenarios.lateCloseThought(june!.config.llmModel));
  const accepted = await send(USER, { text: 'what is the capital of France', conversation, speak: true });
  expect(accepted.status).toBe(202);
  const { events } = await readSse(`${june!.base}/v1/tasks/${accepted.body.taskId}/events`, as(USER), {
    timeoutMs: 60_000,
  });
  const completed = named(events, 'completed')[0];
  expect(completed, JSON.stringify(named(events, 'dead'))).toBeDefined();
  return { events, result: completed.result, audioUrl: completed.audioUrl };
}

describe.each(SERVED_NAMES)('the web API with the model served as %s', (name) => {
  it('shows, says and keeps only the answer, and retracts the thought it streamed', async () => {
    june = await startJune({ apiTokens: [USER], llmModel: name });

    const first = await turn('capitals');
    expect(first.result.text).toBe(LATE_ANSWER);
    expect(shown(first.events)).toBe(LATE_ANSWER);
    // a name without "Thinking" was guessed from its first sentence, and that guess is taken back after
    // the thought's sentences, saying how many; the full name was held back until </think> instead
    const retracts = named(first.events, 'retract');
    expect(retracts).toHaveLength(/thinking/i.test(name) ? 0 : 1);
    const at = first.events.findIndex((e) => e.event === 'retract');
    if (at >= 0) expect(named(first.events.slice(0, at), 'sentence').length).toBe(retracts[0].sentences);
    const ogg = await fetch(`${june.base}${first.audioUrl}`, { headers: as(USER) });
    const voice = Buffer.from(await ogg.arrayBuffer());
    expectAnswerOnly((await ffprobeBuffer(june.dir, voice, 'late.ogg')).duration, lengths);

    // the next turn sends the answer, not the thought, as history; and it reads the model as thinking
    // from the first token, so nothing of the thought is ever shown
    const second = await turn('capitals');
    const history = june.llm.chatRequests().at(-1)!.body!.messages!;
    expect(history.filter((m) => m.role === 'assistant').map((m) => m.content)).toEqual([LATE_ANSWER]);
    expect(JSON.stringify(history)).not.toContain(LATE_THOUGHT.slice(0, 30));
    expect(named(second.events, 'retract')).toEqual([]);
    expect(named(second.events, 'sentence').map((s) => s.text)).toEqual([LATE_ANSWER]);
    expect(second.result.text).toBe(LATE_ANSWER);
  });
});
