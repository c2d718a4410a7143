import { describe, expect, it } from 'vitest';
import { BoundedMap } from './bounded-map.js';

describe('BoundedMap', () => {
  it('keeps a key used within maxAgeMs, and forgets it within twice that once unused', () => {
    let now = 0;
    const map = new BoundedMap<number>(100, 1000, () => now);
    map.set('a', 1);
    now = 1500;
    expect(map.get('a')).toBe(1);
    now = 2400;
    expect(map.get('a')).toBe(1);
    now = 4500;
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it('never holds more than maxSize keys, and keeps the ones in use', () => {
    const map = new BoundedMap<number>(100, 60_000, () => 0);
    map.set('busy', 0);
    for (let i = 0; i < 100_000; i++) {
      map.set(`k${i}`, i);
      if (i % 40 === 0) map.set('busy', (map.get('busy') ?? -1_000_000) + 1);
      expect(map.size).toBeLessThanOrEqual(100);
    }
    expect(map.get('busy')).toBe(2500);
    map.delete('busy');
    expect(map.get('busy')).toBeUndefined();
  });
});
