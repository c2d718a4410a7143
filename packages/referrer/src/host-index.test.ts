import { describe, expect, it } from 'vitest';
import { createHostIndex, type Definition, type HostIndex } from './host-index.js';

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
