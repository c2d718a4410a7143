import { describe, expect, it } from 'vitest';
import { normalizeIp, truncateIp } from './ip.js';

describe('truncateIp', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0'],
    ['10.0.0.1', '10.0.0.0'],
    ['::ffff:198.51.100.23', '198.51.100.0'],
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8:0::'],
    ['2001:db8::1', '2001:db8:0::'],
    ['::1', '0:0:0::'],
    ['fe80::1%eth0', 'fe80:0:0::'],
    ['[2001:db8:1::2]', '2001:db8:1::'],
  ])('%s → %s', (ip, expected) => {
    expect(truncateIp(ip)).toBe(expected);
  });

  it('answers null for what is not an IP', () => {
    for (const bad of ['', 'localhost', '999.1.1.1', '1.2.3', 'javascript:alert(1)']) expect(truncateIp(bad)).toBeNull();
  });

  it('normalizes mapped and bracketed forms for full storage', () => {
    expect(normalizeIp('::FFFF:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeIp('[2001:DB8::1]')).toBe('2001:db8::1');
  });
});
