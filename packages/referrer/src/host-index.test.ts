import { describe, expect, it } from 'vitest';
import { createHostIndex, MAX_HOST_LENGTH, MAX_HOST_LABELS, withinDnsLimits, type Candidate, type Definition, type HostIndex } from './host-index.js';

const def = (name: string, kind: Definition['kind'] = 'search'): Definition => ({
  kind,
  name,
  params: ['q'],
  pathRegexes: [],
  hiddenPaths: [],
  hiddenRegexes: [],
  charsets: [],
});

const google = def('Google');
const googleImages = def('Google Images');
const custom = def('Custom');
const bing = def('Bing');
const yahoo = def('Yahoo');
const ask = def('Ask Images');
const facebookSearch = def('Facebook Search');
const facebook = def('Facebook', 'social');
const gmail = def('Gmail', 'email');
const app = def('App', 'social');

function fixture(options?: { cacheSize?: number }): HostIndex {
  return createHostIndex(
    [
      { definition: google, hosts: ['google.com', 'google.{}'] },
      { definition: googleImages, hosts: ['images.google.{}', 'google.{}/imgres'] },
      { definition: custom, hosts: ['google.com/cse', 'google.com/cse/deep'] },
      { definition: bing, hosts: ['bing.com', '{}.bing.com'] },
      { definition: yahoo, hosts: ['{}.search.yahoo.com'] },
      { definition: ask, hosts: ['images.{}.ask.com'] },
      { definition: facebookSearch, hosts: ['www.facebook.com'] },
      { definition: facebook, hosts: ['facebook.com'] },
      { definition: gmail, hosts: ['mail.google.com'] },
      { definition: app, hosts: ['com.example.app'] },
    ],
    options,
  );
}

const names = (index: HostIndex, host: string) => index.resolve(host).map((c) => (c.path ? `${c.definition.name} ${c.path}` : c.definition.name));

describe('createHostIndex', () => {
  const index = fixture();

  it('matches the exact host first, then without www. or m.', () => {
    expect(names(index, 'google.com')[0]).toBe('Custom /cse/deep');
    expect(names(index, 'www.google.com')).toContain('Google');
    expect(names(index, 'm.facebook.com')).toEqual(['Facebook']);
    expect(names(index, 'www.facebook.com')).toEqual(['Facebook Search', 'Facebook']);
  });

  it('puts host/path entries before the bare host, longest path first', () => {
    expect(names(index, 'www.google.com')).toEqual(['Custom /cse/deep', 'Custom /cse', 'Google', 'Google Images /imgres']);
  });

  it('expands {} to any top-level domain, two-label ones included', () => {
    for (const host of ['www.google.de', 'google.fr', 'www.google.co.uk', 'www.google.com.br', 'google.co.jp']) {
      expect(names(index, host)).toContain('Google');
    }
    expect(names(index, 'images.google.co.uk')[0]).toBe('Google Images');
    expect(names(index, 'www.google.de')).toContain('Google Images /imgres');
  });

  it('expands {} to a subdomain label', () => {
    expect(names(index, 'cn.bing.com')).toEqual(['Bing']);
    expect(names(index, 'fr.search.yahoo.com')).toEqual(['Yahoo']);
    expect(names(index, 'images.de.ask.com')).toEqual(['Ask Images']);
    expect(names(index, 'search.yahoo.com')).toEqual([]);
  });

  it('falls back to parent domains, most specific first', () => {
    expect(names(index, 'news.google.de')).toEqual(['Google Images /imgres', 'Google']);
    expect(names(index, 'a.b.mail.google.com')[0]).toBe('Gmail');
    expect(names(index, 'mail.google.com')[0]).toBe('Gmail');
  });

  it('stops before registry suffixes and never matches lookalikes', () => {
    expect(names(index, 'co.uk')).toEqual([]);
    expect(names(index, 'example.co.uk')).toEqual([]);
    expect(names(index, 'google.blogspot.com')).toEqual([]);
    expect(names(index, 'notgoogle.com')).toEqual([]);
    expect(names(index, 'google.com.evil.example')).toEqual([]);
    expect(names(index, 'com')).toEqual([]);
  });

  it('ignores case and a trailing dot', () => {
    expect(names(index, 'WWW.Google.DE.')).toContain('Google');
  });

  it('looks app packages up exactly', () => {
    expect(index.resolveApp('com.example.app').map((c) => c.definition.name)).toEqual(['App']);
    expect(index.resolveApp('COM.example.APP')).toHaveLength(1);
    expect(index.resolveApp('sub.com.example.app')).toEqual([]);
    expect(index.resolveApp('example.app')).toEqual([]);
  });

  it('counts distinct keys, a host/path entry on its own', () => {
    expect(index.size).toBe(14);
  });

  it('answers repeated hosts from the cache and clears it when full', () => {
    const small = fixture({ cacheSize: 3 });
    const first = small.resolve('www.google.de');
    expect(small.resolve('www.google.de')).toBe(first);
    expect(small.cached).toBe(1);
    small.resolve('a.example');
    small.resolve('b.example');
    expect(small.cached).toBe(3);
    small.resolve('c.example');
    expect(small.cached).toBe(1);
    // Still correct after the clear.
    expect(small.resolve('www.google.de')).toEqual(first);
  });
});

// The index as its rules read, without pruning: every key shape of every suffix, looked up exactly
// (resolveApp is an exact lookup of the same map) and deduplicated in order. Cubic, so only as an oracle.
function exhaustive(index: HostIndex, rawHost: string): Candidate[] {
  const host = rawHost.toLowerCase().replace(/\.$/, '');
  const secondLevel = ['ac', 'co', 'com', 'edu', 'go', 'gob', 'gov', 'ltd', 'mil', 'ne', 'net', 'nic', 'nom', 'or', 'org', 'plc', 'sch'];
  const registry = (labels: string[]) => labels.length === 2 && labels[1].length === 2 && secondLevel.includes(labels[0]);
  const wildcards = (labels: string[]) => {
    const n = labels.length;
    if (n < 2) return [];
    const keys: string[] = [];
    if (n >= 3 && registry(labels.slice(n - 2))) keys.push([...labels.slice(0, n - 2), '{}'].join('.'));
    keys.push([...labels.slice(0, n - 1), '{}'].join('.'));
    for (let i = 0; i <= n - 3; i++) keys.push(labels.map((label, j) => (j === i ? '{}' : label)).join('.'));
    return keys;
  };
  const stripped = /^(www|m)\.[^]*\./.test(host) ? host.slice(host.indexOf('.') + 1) : host;
  const keys = [host, stripped, ...wildcards(host.split('.')), ...wildcards(stripped.split('.'))];
  const labels = stripped.split('.');
  for (let i = 1; i <= labels.length - 2; i++) {
    const parent = labels.slice(i);
    if (registry(parent)) break;
    keys.push(parent.join('.'), ...wildcards(parent));
  }
  const found: Candidate[] = [];
  for (const key of keys) {
    for (const candidate of index.resolveApp(key)) {
      if (!found.some((c) => c.definition === candidate.definition && c.path === candidate.path)) found.push(candidate);
    }
  }
  return found;
}

describe('createHostIndex: long hosts', () => {
  // The fixture's widest keys ({}.search.yahoo.com, images.{}.ask.com) have 4 labels.
  const widest = 4;
  const lookupsFor = (index: HostIndex, host: string) => {
    const before = index.lookups;
    index.resolve(host);
    return index.lookups - before;
  };

  it('looks up a bounded number of keys per host, however many labels it has', () => {
    const index = fixture({ cacheSize: 1 });
    const tails = ['u123.com', 'google.co.uk', 'cn.bing.com', 'images.de.ask.com', 'fr.search.yahoo.com', '{}.{}', 'co.uk', ''];
    for (const label of ['a', '{}', 'www', 'co', 'google']) {
      for (const tail of tails) {
        for (let count = 1; count <= MAX_HOST_LABELS; count++) {
          const host = `${`${label}.`.repeat(count)}${tail}`.slice(0, MAX_HOST_LENGTH).replace(/\.$/, '');
          // The quadratic search made about count²/2 lookups here: 8,000 at 127 labels.
          expect(lookupsFor(index, host)).toBeLessThanOrEqual((widest + 2) ** 2);
        }
      }
    }
  });

  it('answers long hosts as the exhaustive search does, in the same order', () => {
    const index = fixture({ cacheSize: 1 });
    const heads = ['', 'www.', 'm.', 'www.m.', 'a.', '{}.', 'a.b.c.d.e.f.', 'x.'.repeat(60), '{}.'.repeat(40), 'co.'.repeat(30)];
    const bodies = ['google.com', 'google.co.uk', 'images.google.com.br', 'google.de', 'bing.com', 'cn.bing.com', 'search.yahoo.com',
      'fr.search.yahoo.com', 'images.de.ask.com', 'images.{}.ask.com', 'www.facebook.com', 'mail.google.com', 'google.{}', '{}.bing.com',
      'com.example.app', 'co.uk', 'example.co.uk', 'notgoogle.com', 'google.com.evil.example', 'a..b', ''];
    for (const head of heads) {
      for (const body of bodies) {
        const host = head + body;
        if (!withinDnsLimits(host)) continue;
        expect(index.resolve(host), host).toEqual(exhaustive(index, host));
      }
    }
  });

  it('matches a host of the most labels DNS allows through its last labels', () => {
    const index = fixture();
    const pad = (tail: string) => `${'a.'.repeat((MAX_HOST_LENGTH - tail.length) / 2)}${tail}`;
    expect(pad('www.google.co.uk').length).toBeGreaterThanOrEqual(MAX_HOST_LENGTH - 1);
    expect(names(index, pad('www.google.co.uk'))).toEqual(['Google Images /imgres', 'Google']);
    expect(names(index, pad('cn.bing.com'))).toEqual(['Bing']);
    expect(names(index, `${'{}.'.repeat(80)}bing.com`)).toEqual(['Bing']);
    expect(names(index, pad('example.co.uk'))).toEqual([]);
  });

  it('resolves nothing beyond DNS limits, without a lookup', () => {
    const index = fixture();
    const within = `${'a.'.repeat(126)}a`;
    expect(within).toHaveLength(MAX_HOST_LENGTH);
    expect(withinDnsLimits(within)).toBe(true);
    expect(withinDnsLimits(`${within}a`)).toBe(false);
    expect(withinDnsLimits('.'.repeat(MAX_HOST_LABELS - 1))).toBe(true);
    expect(withinDnsLimits('.'.repeat(MAX_HOST_LABELS))).toBe(false);

    const cached = index.cached;
    for (const host of [`${'a.'.repeat(1000)}google.com`, `${'a.'.repeat(2000)}`, 'x'.repeat(4096), `${'.'.repeat(200)}bing.com`, `${'{}.'.repeat(300)}bing.com`]) {
      expect(index.resolve(host)).toEqual([]);
      expect(lookupsFor(index, host)).toBe(0);
    }
    // Junk does not push real hosts out of the cache.
    expect(index.cached).toBe(cached);
    // The trailing dot of a fully qualified name is not counted.
    expect(names(index, `${within.slice(0, -1 - 'cn.bing.com'.length)}.cn.bing.com.`)).toEqual(['Bing']);
  });
});
