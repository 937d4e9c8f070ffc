import { describe, expect, it } from 'vitest';
import { OutputCap } from './output-cap.js';

describe('OutputCap', () => {
  it('keeps short output whole', () => {
    const cap = new OutputCap(8, 8);
    cap.push(Buffer.from('hello '));
    cap.push(Buffer.from('world'));
    expect(cap.text()).toBe('hello world');
    expect(cap.elided).toBe(0);
  });

  it('keeps head and tail across many chunks and notes what it left out', () => {
    const cap = new OutputCap(5, 6);
    const all = Array.from({ length: 100 }, (_, i) => `line${i}\n`).join('');
    for (let i = 0; i < all.length; i += 7) cap.push(Buffer.from(all.slice(i, i + 7)));
    expect(cap.total).toBe(all.length);
    expect(cap.elided).toBe(all.length - 11);
    expect(cap.text()).toBe(`line0\n[… ${all.length - 11} bytes of output elided …]\n${all.slice(-6)}`);
  });

  it('handles one chunk larger than the whole cap', () => {
    const cap = new OutputCap(3, 4);
    cap.push(Buffer.from('abcdefghijklmnop'));
    expect(cap.text()).toBe('abc\n[… 9 bytes of output elided …]\nmnop');
  });
});
