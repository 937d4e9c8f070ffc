/**
 * The behaviour suite every TaskQueue backend must pass. Each test gets a fresh, empty queue from the
 * factory (retry base 50 ms, 3 attempts). Leases last a minute, so none expires behind a test's back on a
 * loaded machine; the test about expiry asks for the backend's shortest practical lease.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { JuneError } from '../../util/errors.js';
import { LeaseLostError } from '../errors.js';
import type { QueueOptions, TaskEvent, TaskQueue } from '../types.js';
import { claimEventually, eventually } from './eventually.js';

export interface BehaviourFactory {
  /** A new empty queue; `options` override the factory's settings. */
  open(options?: QueueOptions): Promise<TaskQueue>;
  /** The lease the factory's queues use, so tests know how long an expired lease takes. */
  leaseMs: number;
}

/** Longer than any test takes, so a lease only expires where a test wants it to. */
const LONG_LEASE_MS = 60_000;

const badInput = () => new JuneError('payload is not a number', { code: 'bad_input', retryable: false });

export function describeTaskQueueBehaviour(name: string, factory: BehaviourFactory): void {
  describe(`TaskQueue behaviour: ${name}`, () => {
    const opened: TaskQueue[] = [];
    const open = async (options: QueueOptions = {}) => {
      const q = await factory.open({ leaseMs: LONG_LEASE_MS, ...options });
      opened.push(q);
      return q;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((q) => q.close()));
    });

    it('enqueues a task as queued with its fields, and deduplicates by idempotency key', async () => {
      const q = await open();
      const id = await q.enqueue({
        kind: 'echo',
        capability: 'chat',
        payload: { text: 'hi' },
        idempotencyKey: 'm1',
      });
      const again = await q.enqueue({
        kind: 'echo',
        capability: 'chat',
        payload: { text: 'hi' },
        idempotencyKey: 'm1',
      });
      const other = await q.enqueue({
        kind: 'echo',
        capability: 'chat',
        payload: { text: 'hi' },
        idempotencyKey: 'm2',
      });
      expect(again).toBe(id);
      expect(other).not.toBe(id);
      const d = await q.get(id);
      expect(d?.task).toMatchObject({ id, kind: 'echo', capability: 'chat', state: 'queued', attempts: 0 });
      expect(d?.task.payload).toEqual({ text: 'hi' });
      expect((await q.list({ capability: 'chat' })).map((t) => t.id).sort()).toEqual([id, other].sort());
      expect(await q.get('chat-doesnotexist')).toBeUndefined();
    });

    it('keeps the trace context (traceparent) of a task, held by its conversation or a child', async () => {
      const q = await open();
      const tp = (n: number) => `00-${String(n).padStart(32, 'a')}-${String(n).padStart(16, 'b')}-01`;
      const plain = await q.enqueue({ kind: 'echo', capability: 'plain', payload: 1, traceparent: tp(1) });
      const untraced = await q.enqueue({ kind: 'echo', capability: 'plain', payload: 2 });
      const first = await q.enqueue({
        kind: 'echo',
        capability: 'conv',
        conversationKey: 'c',
        traceparent: tp(2),
      });
      const held = await q.enqueue({
        kind: 'echo',
        capability: 'conv',
        conversationKey: 'c',
        traceparent: tp(3),
      });
      await q.enqueue({
        kind: 'echo',
        capability: 'flow',
        traceparent: tp(4),
        children: [{ kind: 'echo', capability: 'kid' }],
      });

      expect((await q.get(plain))?.task.traceparent).toBe(tp(1));
      expect((await q.get(held))?.task.traceparent).toBe(tp(3));
      const p1 = await q.claim(['plain'], 'w1');
      expect(p1?.task).toMatchObject({ id: plain, traceparent: tp(1) });
      const p2 = await q.complete(p1!, null, { claimNext: true });
      expect(p2?.task.id).toBe(untraced);
      expect(p2?.task.traceparent).toBeUndefined();

      const c1 = await q.claim(['conv'], 'w1');
      expect(c1?.task).toMatchObject({ id: first, traceparent: tp(2) });
      await q.complete(c1!, null);
      const c2 = await claimEventually(q, ['conv'], 'w1');
      expect(c2.task).toMatchObject({ id: held, traceparent: tp(3) });

      const kid = await q.claim(['kid'], 'w1');
      expect(kid?.task.traceparent).toBe(tp(4));

      await expect(
        q.enqueue({ kind: 'echo', capability: 'plain', traceparent: 'not-a-trace' }),
      ).rejects.toThrow('invalid traceparent "not-a-trace"');
    });

    it('claims only the capabilities asked for, oldest first, and records the result once', async () => {
      const q = await open();
      const voice = await q.enqueue({ kind: 'echo', capability: 'voice', payload: 1 });
      const chat1 = await q.enqueue({ kind: 'echo', capability: 'chat', payload: 2 });
      const chat2 = await q.enqueue({ kind: 'echo', capability: 'chat', payload: 3 });
      const lease = await q.claim(['chat'], 'w1');
      expect(lease?.task.id).toBe(chat1);
      expect(lease?.attempt).toBe(1);
      expect((await q.get(chat1))?.task.state).toBe('active');
      const next = await q.complete(lease!, { said: 'two' }, { claimNext: true });
      expect(next?.task.id).toBe(chat2);
      await q.complete(next!, { said: 'three' });
      expect(await q.claim(['chat'], 'w1')).toBeUndefined();
      await expect(q.complete(lease!, { said: 'again' })).rejects.toBeInstanceOf(LeaseLostError);
      const done = (await q.get(chat1))!;
      expect(done.task).toMatchObject({ state: 'completed', result: { said: 'two' }, attempts: 1 });
      expect(done.attempts.map((a) => a.outcome)).toEqual(['completed']);
      expect((await q.get(voice))?.task.state).toBe('queued');
    });

    it('puts a task whose lease expired back for another worker and fences the old lease', async () => {
      const q = await open({ leaseMs: factory.leaseMs });
      const id = await q.enqueue({ kind: 'echo', capability: 'chat' });
      const first = (await q.claim(['chat'], 'crashed'))!;
      const second = await claimEventually(q, ['chat'], 'rescuer');
      expect(second.task.id).toBe(id);
      expect(second.attempt).toBe(2);
      expect(await q.heartbeat(first)).toBe('lost');
      await expect(q.complete(first, 'from the dead')).rejects.toBeInstanceOf(LeaseLostError);
      expect(await q.heartbeat(second)).toBe('ok');
      await q.complete(second, 'rescued');
      const d = (await q.get(id))!;
      expect(d.task).toMatchObject({ state: 'completed', result: 'rescued', attempts: 2 });
      expect(d.attempts.map((a) => a.outcome)).toEqual(['lost', 'completed']);
    });

    it('holds a failed task back until its backoff has passed', async () => {
      // A backoff of at least 30 s, so "not yet" does not depend on how fast the machine is.
      const q = await open({ retryBaseMs: 60_000 });
      const id = await q.enqueue({ kind: 'flaky', capability: 'chat' });
      const lease = (await q.claim(['chat'], 'w'))!;
      expect(await q.fail(lease, new Error('boom'))).toBe('retrying');
      expect(await q.claim(['chat'], 'w')).toBeUndefined();
      await q.recoverExpired(['chat']);
      expect(await q.claim(['chat'], 'w')).toBeUndefined();
      const d = (await q.get(id))!;
      expect(d.task).toMatchObject({ state: 'retrying', attempts: 1 });
      expect(d.attempts[0]?.retryDelayMs).toBeGreaterThanOrEqual(30_000);
      expect(d.attempts[0]?.retryDelayMs).toBeLessThanOrEqual(60_000);
      expect((await q.stats()).find((s) => s.capability === 'chat')?.retrying).toBe(1);
    });

    it('retries a retryable failure with growing backoff, then dead-letters it; redrive runs it again', async () => {
      const q = await open();
      const id = await q.enqueue({ kind: 'flaky', capability: 'chat' });
      const outcomes: string[] = [];
      for (let i = 0; i < 3; i++) {
        const lease = await claimEventually(q, ['chat']);
        expect(lease.attempt).toBe(i + 1);
        outcomes.push(await q.fail(lease, new Error(`boom ${i + 1}`)));
      }
      expect(outcomes).toEqual(['retrying', 'retrying', 'dead']);
      const d = (await q.get(id))!;
      expect(d.task.state).toBe('dead');
      expect(d.task.error).toMatchObject({ code: 'internal', message: 'boom 3' });
      const delays = d.attempts.map((a) => a.retryDelayMs).filter((x): x is number => x !== undefined);
      expect(delays).toHaveLength(2);
      expect(delays[1]!).toBeGreaterThanOrEqual(delays[0]!);
      expect((await q.listDead()).map((t) => t.id)).toEqual([id]);
      expect((await q.stats()).find((s) => s.capability === 'chat')?.dead).toBe(1);

      expect(await q.redrive({ id })).toBe(1);
      expect(await q.listDead()).toEqual([]);
      const rerun = await claimEventually(q, ['chat']);
      expect(rerun.attempt).toBe(1);
      await q.complete(rerun, 'fine now');
      expect((await q.get(id))?.task).toMatchObject({ state: 'completed', result: 'fine now' });
    });

    it('makes a non-retryable error final at once, keeps its reason, and purges it on request', async () => {
      const q = await open();
      const id = await q.enqueue({ kind: 'parse', capability: 'chat', maxAttempts: 5 });
      const lease = (await q.claim(['chat'], 'w'))!;
      expect(await q.fail(lease, badInput())).toBe('dead');
      const d = (await q.get(id))!;
      expect(d.task).toMatchObject({ state: 'dead', attempts: 1 });
      expect(d.task.error).toMatchObject({ code: 'bad_input', retryable: false });
      expect(await q.purgeDead({ all: true, capability: 'voice' })).toBe(0);
      expect(await q.purgeDead({ id })).toBe(1);
      expect(await q.listDead()).toEqual([]);
      expect(await q.get(id)).toBeUndefined();
    });

    it('cancels a queued task before it runs and a running one at its next heartbeat', async () => {
      const q = await open();
      const running = await q.enqueue({ kind: 'echo', capability: 'chat' });
      const waiting = await q.enqueue({ kind: 'echo', capability: 'chat' });
      const lease = (await q.claim(['chat'], 'w'))!;
      expect(lease.task.id).toBe(running);
      expect(await q.cancel(waiting)).toBe(true);
      expect((await q.get(waiting))?.task.state).toBe('cancelled');
      expect(await q.claim(['chat'], 'w')).toBeUndefined();
      expect(await q.cancel(running)).toBe(true);
      expect(await q.heartbeat(lease)).toBe('cancel-requested');
      const { CancelledError } = await import('../../util/errors.js');
      expect(await q.fail(lease, new CancelledError())).toBe('cancelled');
      expect((await q.get(running))?.task.state).toBe('cancelled');
      expect(await q.cancel(running)).toBe(false);
      expect(await q.listDead()).toEqual([]);
    });

    it('runs one task per conversation at a time, in order, without blocking other conversations', async () => {
      const q = await open();
      const a1 = await q.enqueue({ kind: 'turn', capability: 'chat', conversationKey: 'alice' });
      const a2 = await q.enqueue({ kind: 'turn', capability: 'voice', conversationKey: 'alice' });
      const a3 = await q.enqueue({ kind: 'turn', capability: 'chat', conversationKey: 'alice' });
      const b1 = await q.enqueue({ kind: 'turn', capability: 'chat', conversationKey: 'bob' });
      const l1 = (await q.claim(['chat', 'voice'], 'w'))!;
      expect(l1.task.id).toBe(a1);
      const l2 = (await q.claim(['chat', 'voice'], 'w'))!;
      expect(l2.task.id).toBe(b1);
      expect(await q.claim(['chat', 'voice'], 'w')).toBeUndefined();
      await q.complete(l1, 'ok');
      const l3 = await claimEventually(q, ['chat', 'voice']);
      expect(l3.task.id).toBe(a2);
      expect(await q.claim(['chat', 'voice'], 'w')).toBeUndefined();
      expect(await q.fail(l3, new Error('transient'))).toBe('retrying');
      // the retrying head keeps its place: a3 must not overtake it
      const l4 = await claimEventually(q, ['chat', 'voice']);
      expect(l4.task.id).toBe(a2);
      await q.complete(l4, 'ok');
      const l5 = await claimEventually(q, ['chat', 'voice']);
      expect(l5.task.id).toBe(a3);
    });

    it('keeps a delayed task back until due and counts in-flight work apart from new work', async () => {
      const q = await open();
      await q.enqueue({ kind: 'later', capability: 'code', delayMs: 60_000 });
      const now1 = await q.enqueue({ kind: 'now', capability: 'code' });
      await q.enqueue({ kind: 'now', capability: 'code' });
      const lease = (await q.claim(['code'], 'w'))!;
      expect(lease.task.id).toBe(now1);
      const stats = (await q.stats()).find((s) => s.capability === 'code');
      expect(stats).toMatchObject({ new: 1, delayed: 1, active: 1, retrying: 0, completed: 0, dead: 0 });
      await q.fail(lease, new Error('again'));
      const after = (await q.stats()).find((s) => s.capability === 'code');
      expect(after).toMatchObject({ new: 1, delayed: 1, active: 0, retrying: 1 });
      const next = (await q.claim(['code'], 'w'))!;
      expect(next.task.kind).toBe('now');
      await q.complete(next, null);
      expect((await q.stats()).find((s) => s.capability === 'code')?.completed).toBe(1);
    });

    it('delivers progress and state events to subscribers and keeps them in the timeline', async () => {
      const q = await open();
      const seen: TaskEvent[] = [];
      const sub = await q.subscribe((e) => seen.push(e), { capability: 'voice' });
      const id = await q.enqueue({ kind: 'turn', capability: 'voice' });
      const lease = await claimEventually(q, ['voice']);
      await q.reportProgress(lease, 'stt', { text: 'hello' });
      await q.reportProgress(lease, 'llm');
      await q.complete(lease, 'done');
      await eventually(async () => seen.some((e) => e.type === 'completed'), 'the completed event');
      await sub.close();
      const progress = seen.filter((e) => e.type === 'progress');
      expect(progress.map((e) => e.stage)).toEqual(['stt', 'llm']);
      expect(progress[0]).toMatchObject({ taskId: id, data: { text: 'hello' }, attempt: 1 });
      expect(seen.map((e) => e.type)).toContain('active');
      const d = (await q.get(id))!;
      expect(d.timeline.filter((e) => e.type === 'progress').map((e) => e.stage)).toEqual(['stt', 'llm']);
      expect(d.task.progress?.stage).toBe('llm');
    });

    it('runs a parent after its children and gives it their results', async () => {
      const q = await open();
      const parent = await q.enqueue({
        kind: 'summarise',
        capability: 'chat',
        children: [
          { kind: 'transcribe', capability: 'voice', payload: 1 },
          { kind: 'transcribe', capability: 'voice', payload: 2 },
        ],
      });
      const p = (await q.get(parent))!;
      expect(p.task.state).toBe('waiting-children');
      expect(p.task.childIds).toHaveLength(2);
      expect(await q.claim(['chat'], 'w')).toBeUndefined();
      for (let i = 0; i < 2; i++) {
        const c = await claimEventually(q, ['voice']);
        expect(c.task.parentId).toBe(parent);
        await q.complete(c, { n: c.task.payload });
      }
      const pl = await claimEventually(q, ['chat']);
      expect(pl.task.id).toBe(parent);
      const kids = await q.children(parent);
      expect(kids.map((k) => k.state)).toEqual(['completed', 'completed']);
      expect(
        kids.map((k) => k.result).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      ).toEqual([{ n: 1 }, { n: 2 }]);
      await q.complete(pl, 'summary');
    });

    it('fails the parent when a child dies, and redrive reruns the child and then the parent', async () => {
      const q = await open();
      const parent = await q.enqueue({
        kind: 'summarise',
        capability: 'chat',
        children: [
          { kind: 'ok', capability: 'voice' },
          { kind: 'bad', capability: 'voice' },
        ],
      });
      for (let i = 0; i < 2; i++) {
        const c = await claimEventually(q, ['voice']);
        if (c.task.kind === 'ok') await q.complete(c, 'fine');
        else expect(await q.fail(c, badInput())).toBe('dead');
      }
      // the parent is never run; it dies with a reason that names the child
      await eventually(async () => {
        await q.claim(['chat'], 'w'); // lets a backend that finalises on claim do so
        return (await q.get(parent))?.task.state === 'dead';
      }, 'the parent to die');
      const dead = (await q.get(parent))!;
      expect(dead.task.error?.code).toBe('child_dead');
      expect((await q.listDead()).map((t) => t.id)).toEqual([parent]);

      expect(await q.redrive({ id: parent })).toBe(1);
      const child = await claimEventually(q, ['voice']);
      expect(child.task.kind).toBe('bad');
      expect(await q.claim(['chat'], 'w')).toBeUndefined(); // still waits for the child
      await q.complete(child, 'fixed');
      const pl = await claimEventually(q, ['chat']);
      expect(pl.task.id).toBe(parent);
      expect((await q.children(parent)).map((k) => k.state)).toEqual(['completed', 'completed']);
      await q.complete(pl, 'all good');
      expect((await q.get(parent))?.task.state).toBe('completed');
    });

    it("runs the parent anyway under the 'continue' policy and shows it the dead child", async () => {
      const q = await open();
      const parent = await q.enqueue({
        kind: 'best-effort',
        capability: 'chat',
        onChildDead: 'continue',
        children: [{ kind: 'bad', capability: 'voice' }],
      });
      const c = await claimEventually(q, ['voice']);
      await q.fail(c, badInput());
      const pl = await claimEventually(q, ['chat']);
      expect(pl.task.id).toBe(parent);
      const [kid] = await q.children(parent);
      expect(kid).toMatchObject({ state: 'dead', error: { code: 'bad_input' } });
      await q.complete(pl, 'partial');
    });

    it('runs a once-step only once across attempts of a task', async () => {
      const q = await open();
      await q.enqueue({ kind: 'deliver', capability: 'chat' });
      let sends = 0;
      const send = async () => ++sends;
      const first = (await q.claim(['chat'], 'w'))!;
      expect(await q.once(first, 'send-reply', send)).toBe(1);
      await q.fail(first, new Error('crashed after sending'));
      const second = await claimEventually(q, ['chat']);
      expect(await q.once(second, 'send-reply', send)).toBe(1);
      expect(await q.once(second, 'other-step', send)).toBe(2);
      expect(sends).toBe(2);
      await expect(q.once(first, 'late', send)).rejects.toBeInstanceOf(LeaseLostError);
    });

    it('gives a released task back without counting the attempt', async () => {
      const q = await open();
      const id = await q.enqueue({ kind: 'echo', capability: 'chat' });
      const lease = (await q.claim(['chat'], 'draining'))!;
      await q.release(lease);
      const again = await claimEventually(q, ['chat']);
      expect(again.task.id).toBe(id);
      expect(again.attempt).toBe(1);
      await q.complete(again, 1);
    });

    it('keeps a registry of workers', async () => {
      const q = await open();
      const now = Date.now();
      const info = {
        id: 'w-1',
        capabilities: ['voice', 'chat'],
        concurrency: 2,
        activeTaskIds: ['chat-x'],
        load: 0.5,
        host: 'h',
        pid: 1,
        startedAt: now,
        lastHeartbeatAt: now,
      };
      await q.registerWorker(info);
      await q.registerWorker({ ...info, activeTaskIds: [], load: 0, lastHeartbeatAt: now + 1 });
      const workers = await q.listWorkers();
      expect(workers).toHaveLength(1);
      expect(workers[0]).toMatchObject({
        id: 'w-1',
        capabilities: ['voice', 'chat'],
        load: 0,
        lastHeartbeatAt: now + 1,
      });
      await q.unregisterWorker('w-1');
      expect(await q.listWorkers()).toEqual([]);
    });
  });
}
