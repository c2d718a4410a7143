import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanValue, decodeComponent, decodesAsUtf8, queryPairs } from './decode.js';

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

describe('decodesAsUtf8', () => {
  const decodes = (text: string) => {
    try {
      decodeURIComponent(text);
      return true;
    } catch {
      return false;
    }
  };
  const hex = (byte: number) => `%${byte.toString(16).padStart(2, '0')}`;

  const disagreements = (texts: Iterable<string>) => [...texts].filter((text) => decodesAsUtf8(text) !== decodes(text));

  it('agrees with decodeURIComponent on every one- and two-byte escape', () => {
    function* texts() {
      for (let a = 0; a < 256; a++) {
        yield hex(a);
        yield hex(a).toUpperCase();
        for (let b = 0; b < 256; b++) yield hex(a) + hex(b);
      }
    }
    expect(disagreements(texts())).toEqual([]);
  });

  it('agrees on the boundaries of three- and four-byte sequences', () => {
    // Where the ranges of table 3-7 start and end, and just outside them.
    const edges = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
    function* texts() {
      for (let lead = 0xe0; lead <= 0xf8; lead++) {
        for (const second of edges) {
          for (const third of edges) {
            const three = hex(lead) + hex(second) + hex(third);
            yield three;
            if (lead >= 0xf0) for (const fourth of edges) yield three + hex(fourth);
          }
        }
      }
    }
    expect(disagreements(texts())).toEqual([]);
  });

  it('agrees on escapes cut short or mixed with text', () => {
    const texts = ['', 'plain', '%', '%%', '%4', '%4g', '%g4', 'a%', '%41%', '%C3%', '%C3%A', '%C3a%A9', 'x%C3%A9y', '%C3%A9%ZZ', '100%', '%aA', '\ud800%41', '%F0%9F%98%80', '%F0%9F%98'];
    expect(disagreements(texts)).toEqual([]);
  });
});

describe('decodeComponent: hostile input', () => {
  afterEach(() => vi.restoreAllMocks());

  it('keeps hundreds of malformed runs raw without a URIError thrown for any', () => {
    const original = globalThis.decodeURIComponent;
    let thrown = 0;
    vi.spyOn(globalThis, 'decodeURIComponent').mockImplementation((text) => {
      try {
        return original(text);
      } catch (error) {
        thrown++;
        throw error;
      }
    });
    // A 4,096-character wire string of bad runs: every run was decoded, failed and caught before.
    const bad = '%E0%'.repeat(1024);
    expect(decodeComponent(bad)).toBe(bad);
    expect(decodeComponent('%C3%A9x%FFx'.repeat(372))).toBe('éx%FFx'.repeat(372));
    // Neither charset decodes A4 FF, so each value falls back to runs.
    expect(decodeComponent('%A4%FFx'.repeat(585), ['gb2312', 'shift_jis'])).toBe('%A4%FFx'.repeat(585));
    expect(queryPairs('%E0=1&'.repeat(600))).toHaveLength(600);
    expect(thrown).toBe(0);
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
