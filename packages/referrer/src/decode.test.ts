import { describe, expect, it } from 'vitest';
import { cleanValue, decodeComponent, queryPairs } from './decode.js';

describe('queryPairs', () => {
  it('splits names and raw values, with or without the ?', () => {
    expect(queryPairs('?a=1&b=x+y&c')).toEqual([
      ['a', '1'],
      ['b', 'x+y'],
      ['c', ''],
    ]);
    expect(queryPairs('a=1=2&&')).toEqual([['a', '1=2']]);
    expect(queryPairs('')).toEqual([]);
    expect(queryPairs('?')).toEqual([]);
  });

  it('decodes names', () => {
    expect(queryPairs('utm%5Fsource=x')).toEqual([['utm_source', 'x']]);
  });
});

describe('decodeComponent', () => {
  it('decodes + and UTF-8 percent-encoding', () => {
    expect(decodeComponent('a+b%20c')).toBe('a b c');
    expect(decodeComponent('%E5%8C%97%E4%BA%AC')).toBe('北京');
  });

  it('tries the legacy charsets when the bytes are not UTF-8', () => {
    expect(decodeComponent('%B1%B1%BE%A9', ['gb2312'])).toBe('北京');
    expect(decodeComponent('%93%8C%8B%9E', ['euc-jp', 'shift_jis'])).toBe('東京');
    expect(decodeComponent('%EC%EE%F1%EA%E2%E0', ['windows-1251'])).toBe('москва');
    // Valid UTF-8 is never reinterpreted.
    expect(decodeComponent('%C3%A9', ['windows-1251'])).toBe('é');
  });

  it('keeps what does not decode, run by run', () => {
    expect(decodeComponent('%E0%A4%A')).toBe('%E0%A4%A');
    expect(decodeComponent('ok%C3%A9+bad%FF')).toBe('oké bad%FF');
    expect(decodeComponent('%B1%B1', ['no-such-charset'])).toBe('%B1%B1');
    expect(decodeComponent('\u00e9%FF', ['gb2312'])).toBe('\u00e9%FF');
  });
});

describe('cleanValue', () => {
  it('trims, caps and maps empty to null', () => {
    expect(cleanValue('  x  ')).toBe('x');
    expect(cleanValue('   ')).toBeNull();
    expect(cleanValue('abcdef', 3)).toBe('abc');
    expect(cleanValue('ab cd', 3)).toBe('ab');
    expect(cleanValue('a\ud83d\ude00', 2)).toBe('a');
  });
});
