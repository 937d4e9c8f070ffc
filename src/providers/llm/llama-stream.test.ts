import { describe, expect, it } from 'vitest';

import { CancelledError } from '../../util/errors.js';
import { EdgeTrimmer, EventChannel, SerialLock, untilAborted } from './llama-stream.js';

describe('SerialLock', () => {
  it('grants turns in order, one at a time', async () => {
    const lock = new SerialLock();
    const order: string[] = [];
    const task = async (name: string) => {
      const release = await lock.acquire();
      order.push(`${name}:start`);
      await new Promise((r) => setTimeout(r, 5));
      order.push(`${name}:end`);
      release();
    };
    await Promise.all([task('a'), task('b'), task('c')]);
    expect(order).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
  });

  it('lets a waiter abort without holding up the ones behind it', async () => {
    const lock = new SerialLock();
    const releaseFirst = await lock.acquire();
    const controller = new AbortController();
    const second = lock.acquire(controller.signal);
    const third = lock.acquire();
    controller.abort();
    await expect(second).rejects.toBeInstanceOf(CancelledError);
    let thirdGranted = false;
    void third.then(() => (thirdGranted = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(thirdGranted).toBe(false); // still the first one's turn
    releaseFirst();
    (await third)();
    expect(thirdGranted).toBe(true);
  });
});

describe('EdgeTrimmer', () => {
  it('drops leading whitespace and holds trailing whitespace until text follows', () => {
    const t = new EdgeTrimmer();
    expect(['\n\n', '  Hi', ' there\n', '\n', 'again\n'].map((c) => t.push(c))).toEqual([
      '',
      'Hi',
      ' there',
      '',
      '\n\nagain',
    ]);
  });
});

describe('EventChannel', () => {
  it('delivers pushed items in order, then the failure', async () => {
    const channel = new EventChannel<number>();
    setTimeout(() => {
      channel.push(1);
      channel.push(2);
      channel.fail(new Error('boom'));
      channel.push(3);
    }, 1);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const n of channel.drain()) seen.push(n);
      })(),
    ).rejects.toThrow('boom');
    expect(seen).toEqual([1, 2]);
  });
});

describe('untilAborted', () => {
  it('rejects on abort while the work goes on', async () => {
    const controller = new AbortController();
    let finish!: (v: string) => void;
    const work = new Promise<string>((resolve) => (finish = resolve));
    const waiting = untilAborted(work, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(CancelledError);
    finish('done');
    await expect(untilAborted(work, new AbortController().signal)).resolves.toBe('done');
  });
});
