import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressBar, duration, formatProgress } from './progress.js';

/** A real stream collecting what is written, optionally claiming to be a terminal. */
function collector(isTTY: boolean) {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    }),
    { isTTY, columns: 100 },
  );
  return { stream, text: () => text };
}

const MB = 1_000_000;

describe('progress', () => {
  it('formats percent, megabytes, speed and time left', () => {
    expect(formatProgress('base.en', { received: 42 * MB, total: 141 * MB, bytesPerSec: 5.5 * MB })).toBe(
      'base.en   29%  42.0/141.0 MB  5.5 MB/s  ETA 0:18',
    );
    expect(formatProgress('x', { received: 3 * MB, bytesPerSec: 0 })).toBe('x  3.0 MB  0.0 MB/s');
    expect(formatProgress('x', { received: 1, total: 10, bytesPerSec: 0 })).toContain('ETA --:--');
    expect(duration(75)).toBe('1:15');
    expect(duration(3725)).toBe('1:02:05');
  });

  it('redraws one line on a terminal and ends it on done()', () => {
    const out = collector(true);
    const bar = createProgressBar({ label: 'tiny.en', stream: out.stream });
    bar.update({ received: 0, total: 10 * MB, bytesPerSec: 0 });
    bar.update({ received: 10 * MB, total: 10 * MB, bytesPerSec: 2 * MB });
    bar.done();

    const text = out.text();
    expect(text.split('\n')).toHaveLength(2); // one line, then the final newline
    expect(text.startsWith('\r')).toBe(true);
    expect(text).toContain('\x1b[K');
    const lastDraw = text.split('\r').at(-1)!;
    expect(lastDraw).toMatch(/100%.*\[#+\]/); // the bar is full, no '-' left
    expect(lastDraw.endsWith('\x1b[K\n')).toBe(true);
    expect(text).toContain('100%  10.0/10.0 MB');
  });

  it('writes a plain line every 10 % when stderr is not a terminal', () => {
    const out = collector(false);
    const bar = createProgressBar({ label: 'qwen3-0.6b', stream: out.stream });
    for (let i = 0; i <= 100; i++) bar.update({ received: i * MB, total: 100 * MB, bytesPerSec: MB });
    bar.done();

    const lines = out.text().trimEnd().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[0]).toContain('  0%');
    expect(lines[5]).toContain(' 50%');
    expect(lines[10]).toContain('100%');
    expect(out.text()).not.toContain('\r');
  });

  it('without a known total, writes a line every 50 MB', () => {
    const out = collector(false);
    const bar = createProgressBar({ label: 'x', stream: out.stream });
    for (let i = 0; i <= 120; i += 10) bar.update({ received: i * MB, bytesPerSec: MB });
    expect(
      out
        .text()
        .trimEnd()
        .split('\n')
        .map((l) => l.split('  ')[1]),
    ).toEqual(['0.0 MB', '50.0 MB', '100.0 MB']);
  });
});
