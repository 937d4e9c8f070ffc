import { describe, expect, it } from 'vitest';
import { AccessControl, MAX_PENDING_CODES, PAIRING_TTL_MS } from './access.js';
import { ConversationStore } from './conversations.js';
import { openChannelDb } from './db.js';
import type { ChatMessage } from '../../providers/types.js';

const ref = { channel: 'telegram', chatId: '10', userId: '42' };
/** What a turn adds to a conversation: the user's message and the reply. */
const turn = (user: string, assistant: string): ChatMessage[] => [
  { role: 'user', content: user },
  { role: 'assistant', content: assistant },
];

describe('ConversationStore', () => {
  it('returns the newest turns that fit the token budget, oldest first', () => {
    const store = new ConversationStore(openChannelDb(':memory:'));
    for (let i = 1; i <= 5; i++)
      store.appendMessages(ref, `t${i}`, turn(`question ${i}`, `answer ${i} `.repeat(10)));
    const all = store.history(ref, 10_000);
    expect(all).toHaveLength(10);
    expect(all[0]).toEqual({ role: 'user', content: 'question 1' });
    const window = store.history(ref, 60);
    expect(window.length).toBeLessThan(10);
    expect(window.at(-1)!.role).toBe('assistant');
    expect(window[0]!.role).toBe('user'); // never starts with an orphaned reply
    expect(window.at(-1)!.content).toContain('answer 5');
  });

  it('stores a turn once per task, whatever the re-runs', () => {
    const store = new ConversationStore(openChannelDb(':memory:'));
    store.appendMessages(ref, 'task-1', turn('hi', 'hello'));
    store.appendMessages(ref, 'task-1', turn('hi', 'hello'));
    expect(store.history(ref, 1000)).toHaveLength(2);
  });

  it('/new starts an empty history and keeps conversations apart per user', () => {
    const store = new ConversationStore(openChannelDb(':memory:'));
    store.appendMessages(ref, 'a', turn('one', 'two'));
    store.appendMessages({ ...ref, userId: '43' }, 'b', turn('other', 'user'));
    store.reset(ref);
    expect(store.history(ref, 1000)).toEqual([]);
    expect(store.history({ ...ref, userId: '43' }, 1000)).toHaveLength(2);
    store.appendMessages(ref, 'c', turn('fresh', 'start'));
    expect(store.history(ref, 1000).map((m) => m.content)).toEqual(['fresh', 'start']);
  });

  it('keeps language and voice preferences', () => {
    const store = new ConversationStore(openChannelDb(':memory:'));
    expect(store.prefs(ref)).toEqual({});
    store.setVoiceMode(ref, 'never');
    store.setLanguage(ref, 'fr');
    expect(store.prefs(ref)).toEqual({ language: 'fr', voiceMode: 'never' });
  });
});

describe('AccessControl', () => {
  it('is closed by default; the first approved user becomes the owner', () => {
    const ac = new AccessControl(openChannelDb(':memory:'));
    expect(ac.isAllowed('telegram', '1')).toBe(false);
    const a = ac.requestPairing('telegram', '1', 'chat1', 'Ada');
    const b = ac.requestPairing('telegram', '2', 'chat2', 'Bob');
    if (a.kind !== 'code' || b.kind !== 'code') throw new Error('expected codes');
    expect(a.code).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
    expect(ac.approve('telegram', 'WRONGCODE')).toBeUndefined();
    expect(ac.approve('discord', a.code)).toBeUndefined(); // codes are per channel
    expect(ac.approve('telegram', a.code.toLowerCase())).toMatchObject({
      userId: '1',
      role: 'owner',
      chatId: 'chat1',
    });
    expect(ac.approve('telegram', b.code)).toMatchObject({ userId: '2', role: 'user' });
    expect(ac.isAllowed('telegram', '1')).toBe(true);
    expect(ac.pending()).toEqual([]);
    expect(ac.revoke('telegram', '2')).toBe(true);
    expect(ac.isAllowed('telegram', '2')).toBe(false);
  });

  it('reuses a pending code, allows at most three, and expires them after an hour', () => {
    let now = 1_000_000;
    const ac = new AccessControl(openChannelDb(':memory:'), [], () => now);
    const first = ac.requestPairing('telegram', '1', 'c');
    expect(ac.requestPairing('telegram', '1', 'c')).toMatchObject({ kind: 'code', reused: true });
    for (let u = 2; u <= MAX_PENDING_CODES; u++)
      expect(ac.requestPairing('telegram', String(u), 'c').kind).toBe('code');
    expect(ac.requestPairing('telegram', '99', 'c')).toEqual({ kind: 'too_many_pending' });
    now += PAIRING_TTL_MS + 1;
    if (first.kind !== 'code') throw new Error('expected a code');
    expect(ac.approve('telegram', first.code)).toBeUndefined();
    expect(ac.requestPairing('telegram', '99', 'c').kind).toBe('code');
  });

  it('lets allow-listed users in without pairing', () => {
    const ac = new AccessControl(openChannelDb(':memory:'), ['discord:7']);
    expect(ac.isAllowed('discord', '7')).toBe(true);
    expect(ac.isAllowed('telegram', '7')).toBe(false);
  });
});
