import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it('limits each key to its bucket and refills it over time', () => {
    let now = 0;
    const limiter = new RateLimiter({ rate: 1, burst: 2 }, () => now);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 1]);
    expect(limiter.take('b')).toBe(0);
    now = 1000;
    expect(limiter.take('a')).toBe(0);
  });

  it('holds at most maxKeys buckets however many addresses send, and keeps the busy ones', () => {
    let now = 0;
    const limiter = new RateLimiter({ rate: 1, burst: 2 }, () => now, 100);
    limiter.take('busy');
    limiter.take('busy');
    for (let i = 0; i < 10_000; i++) {
      limiter.take(`2001:db8::${i.toString(16)}`);
      // The busy client keeps sending between the others: its empty bucket is never forgotten.
      if (i % 50 === 0) expect(limiter.take('busy')).toBeGreaterThan(0);
    }
    expect(limiter.size).toBeLessThanOrEqual(100);
  });

  it('forgets buckets idle long enough to be full again', () => {
    let now = 0;
    const limiter = new RateLimiter({ rate: 1, burst: 2 }, () => now);
    for (let i = 0; i < 500; i++) limiter.take(`198.51.100.${i}`);
    now = 4001;
    limiter.take('late');
    expect(limiter.size).toBe(1);
  });
});
