/**
 * The access rules that keep strangers from locking the owner out: the setup code, deny and clear, the
 * cool-down after a revoke or a denial, and answering a stranger at most once per interval. A real
 * in-memory SQLite database and a clock the test moves.
 */
import { describe, expect, it } from 'vitest';
import { AccessControl, MAX_PENDING_CODES } from './access.js';
import { openChannelDb } from './db.js';

const MIN = 60_000;

function setup(policy = { strangerReplyIntervalMs: 10 * MIN, revokedCooldownMs: 60 * MIN }) {
  let now = 1_000_000;
  const ac = new AccessControl(openChannelDb(':memory:'), [], () => now, policy);
  return { ac, advance: (ms: number) => (now += ms) };
}

const fill = (ac: AccessControl) => {
  for (let i = 0; i < MAX_PENDING_CODES; i++)
    expect(ac.requestPairing('telegram', `s${i}`, `s${i}`).kind).toBe('code');
  expect(ac.requestPairing('telegram', 'late', 'late')).toEqual({ kind: 'too_many_pending' });
};

describe('AccessControl: the owner cannot be locked out', () => {
  it('makes the sender of the setup code the owner even when strangers hold every pending slot', () => {
    const { ac } = setup();
    fill(ac);
    const code = ac.setupCode()!;
    expect(code).toMatch(/^[A-HJ-NP-Z2-9]{12}$/);
    expect(ac.setupCode()).toBe(code);
    expect(ac.claimOwnership('telegram', 'owner', 'WRONGCODE234')).toBe(false);
    expect(ac.isAllowed('telegram', 'owner')).toBe(false);
    // typed by hand: lower case, with a space in the middle
    const typed = `${code.slice(0, 6).toLowerCase()} ${code.slice(6)}`;
    expect(ac.claimOwnership('telegram', 'owner', typed, 'Olive')).toBe(true);
    expect(ac.roleOf('telegram', 'owner')).toBe('owner');
    // used once: the code is gone and cannot make a second owner
    expect(ac.setupCode()).toBeUndefined();
    expect(ac.claimOwnership('telegram', 'other', code)).toBe(false);
    expect(ac.users().map((u) => [u.userId, u.role, u.name])).toEqual([['owner', 'owner', 'Olive']]);
  });

  it('has no setup code once an owner was approved through a pairing code', () => {
    const { ac } = setup();
    const code = ac.setupCode()!;
    const req = ac.requestPairing('discord', 'first', 'c1');
    expect(req.kind).toBe('code');
    expect(ac.approve('discord', (req as { code: string }).code)?.role).toBe('owner');
    expect(ac.setupCode()).toBeUndefined();
    expect(ac.claimOwnership('discord', 'intruder', code)).toBe(false);
  });

  it('deny drops one pending code and frees its slot; the denied stranger waits out the cool-down', () => {
    const { ac, advance } = setup();
    fill(ac);
    const victim = ac.pending('telegram')[0]!;
    expect(ac.deny(victim.code.toLowerCase())?.userId).toBe(victim.userId);
    expect(ac.deny(victim.code)).toBeUndefined();
    expect(ac.pending('telegram').map((p) => p.userId)).not.toContain(victim.userId);
    // the freed slot goes to someone else; the denied stranger gets none during the cool-down
    expect(ac.requestPairing('telegram', victim.userId, victim.chatId)).toEqual({
      kind: 'cooling_down',
      until: victim.createdAt + 60 * MIN,
    });
    expect(ac.requestPairing('telegram', 'late', 'late').kind).toBe('code');
    ac.deny(ac.pending('telegram').find((p) => p.userId === 'late')!.code);
    advance(60 * MIN);
    expect(ac.requestPairing('telegram', victim.userId, victim.chatId).kind).toBe('code');
  });

  it('clear drops every pending code of a channel and leaves the others', () => {
    const { ac } = setup();
    fill(ac);
    expect(ac.requestPairing('discord', 'd1', 'd1').kind).toBe('code');
    expect(
      ac
        .clear('telegram')
        .map((p) => p.userId)
        .sort(),
    ).toEqual(['s0', 's1', 's2']);
    expect(ac.pending().map((p) => p.userId)).toEqual(['d1']);
    expect(ac.requestPairing('telegram', 's0', 's0').kind).toBe('cooling_down');
    expect(ac.requestPairing('telegram', 'newcomer', 'n').kind).toBe('code');
    expect(ac.clear().map((p) => p.userId)).toEqual(['d1', 'newcomer']);
  });

  it('a revoked user gets no new pairing slot until the cool-down is over', () => {
    const { ac, advance } = setup();
    const req = ac.requestPairing('telegram', 'bob', 'bob') as { code: string };
    ac.approve('telegram', req.code);
    expect(ac.revoke('telegram', 'bob')).toBe(true);
    expect(ac.isAllowed('telegram', 'bob')).toBe(false);
    expect(ac.requestPairing('telegram', 'bob', 'bob').kind).toBe('cooling_down');
    advance(60 * MIN - 1);
    expect(ac.requestPairing('telegram', 'bob', 'bob').kind).toBe('cooling_down');
    advance(1);
    expect(ac.requestPairing('telegram', 'bob', 'bob').kind).toBe('code');
  });

  it('answers a stranger at most once per interval; 0 answers every time', () => {
    const { ac, advance } = setup();
    expect(ac.takeStrangerAnswer('telegram', 'eve')).toBe(true);
    expect(ac.takeStrangerAnswer('telegram', 'eve')).toBe(false);
    expect(ac.takeStrangerAnswer('telegram', 'mallory')).toBe(true);
    expect(ac.takeStrangerAnswer('discord', 'eve')).toBe(true);
    advance(10 * MIN - 1);
    expect(ac.takeStrangerAnswer('telegram', 'eve')).toBe(false);
    advance(1);
    expect(ac.takeStrangerAnswer('telegram', 'eve')).toBe(true);

    const always = setup({ strangerReplyIntervalMs: 0, revokedCooldownMs: 0 }).ac;
    expect(always.takeStrangerAnswer('telegram', 'eve')).toBe(true);
    expect(always.takeStrangerAnswer('telegram', 'eve')).toBe(true);
  });
});
