import { describe, expect, it } from 'vitest';
import { CircuitBreakers, type CircuitState } from './circuit.js';
import { formatWorkers } from './format.js';

/** A breaker on a hand-moved clock: the states follow from the calls, never from real time. */
function breakers(outageMaxMs = 60_000) {
  let now = 1_000;
  const changes: CircuitState[] = [];
  const b = new CircuitBreakers(
    { openMs: 100, maxOpenMs: 300, outageMaxMs },
    (s) => changes.push(s),
    () => now,
  );
  return { b, changes, advance: (ms: number) => (now += ms) };
}

describe('circuit breakers', () => {
  it('pauses the capability of a provider that is down, lets one probe through, and closes on success', () => {
    const { b, changes, advance } = breakers();
    expect(b.claimable(['chat', 'voice'])).toEqual(['chat', 'voice']);
    expect(b.outage('openai-llm', 'chat')).toBe(true);
    expect(b.claimable(['chat', 'voice'])).toEqual(['voice']);
    expect(b.paused('chat')).toBe(true);
    expect(b.nextProbeInMs()).toBe(100);

    advance(100);
    expect(b.claimable(['chat', 'voice'])).toEqual(['chat', 'voice']); // the probe
    expect(b.claimable(['chat', 'voice'])).toEqual(['voice']); // only one
    b.claimed(['chat', 'voice'], 'chat');
    expect(b.states()[0]).toMatchObject({ provider: 'openai-llm', state: 'half-open', failures: 1 });

    b.succeeded('chat');
    expect(b.claimable(['chat'])).toEqual(['chat']);
    expect(changes.map((c) => c.state)).toEqual(['open', 'half-open', 'closed']);
  });

  it('frees the probe when the claim found nothing, and doubles the pause per failed probe up to the cap', () => {
    const { b, advance } = breakers();
    b.outage('openai-llm', 'chat');
    advance(100);
    expect(b.claimable(['chat'])).toEqual(['chat']);
    b.claimed(['chat'], undefined);
    expect(b.claimable(['chat'])).toEqual(['chat']);
    b.claimed(['chat'], 'chat');
    b.outage('openai-llm', 'chat');
    expect(b.nextProbeInMs()).toBe(200);
    advance(200);
    b.claimable(['chat']);
    b.outage('openai-llm', 'chat');
    expect(b.nextProbeInMs()).toBe(300);
    advance(300);
    b.claimable(['chat']);
    b.outage('openai-llm', 'chat');
    expect(b.nextProbeInMs()).toBe(300);
    expect(b.states()[0]).toMatchObject({ state: 'open', failures: 4, capabilities: ['chat'] });
  });

  it('stops waiting once the outage lasts longer than outageMaxMs', () => {
    const { b, advance } = breakers(1_000);
    expect(b.outage('openai-stt', 'voice')).toBe(true);
    advance(999);
    expect(b.outage('openai-stt', 'voice')).toBe(true);
    advance(2);
    expect(b.outage('openai-stt', 'voice')).toBe(false);
    b.succeeded('voice');
    expect(b.outage('openai-stt', 'voice')).toBe(true); // a new outage waits again
  });

  it('shows the providers a worker found down in `june workers ls`', () => {
    const { b } = breakers();
    b.outage('openai-llm', 'chat');
    const worker = {
      id: 'w1',
      capabilities: ['chat'],
      concurrency: 2,
      activeTaskIds: [],
      load: 0,
      host: 'h',
      pid: 1,
      startedAt: 0,
      lastHeartbeatAt: 1_000,
      circuits: b.states(),
    };
    expect(formatWorkers([worker], 1_000)).toContain('openai-llm open (chat)');
    expect(formatWorkers([{ ...worker, circuits: [] }], 1_000)).toMatch(/h\/1\s+-\n$/);
  });
});
