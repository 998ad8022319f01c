import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.js';

describe('BufferPool', () => {
  const pool = () => new BufferPool({ maxFreeBytes: 4096, minBytes: 1024 });

  it('hands a given-back buffer out again, never twice at once', () => {
    const p = pool();
    const a = p.take(2000);
    p.give(a);
    p.give(a);
    const b = p.take(1500);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(1500);
    expect(p.take(1500).buffer).not.toBe(a.buffer);
  });

  it('leaves alone small buffers, views inside others, and more than it may keep', () => {
    const p = pool();
    const small = p.take(100);
    p.give(small);
    expect(p.take(1024).buffer).not.toBe(small.buffer);
    const big = p.take(3000);
    p.give(big.subarray(10));
    expect(p.take(3000).buffer).not.toBe(big.buffer);
    const [x, y] = [p.take(3000), p.take(3000)];
    p.give(x);
    p.give(y);
    expect(p.take(3000).buffer).toBe(x.buffer);
    expect(p.take(3000).buffer).not.toBe(y.buffer);
  });
});
