import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { convertReferrerData, GENERATED_HEADER } from '../scripts/convert.mjs';
import { parseReferrer, referrerStats } from './index.js';
import { AI_ASSISTANTS, EMAIL_PROVIDERS, SEARCH_ENGINES, SOCIAL_NETWORKS } from './referrers.generated.js';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const texts = {
  searchEngines: read('data/matomo/SearchEngines.yml'),
  socials: read('data/matomo/Socials.yml'),
  aiAssistants: read('data/matomo/AIAssistants.yml'),
  additions: read('data/rapport-additions.yml'),
};

describe('generated referrer data', () => {
  it('is up to date with data/ (run `npm run data -w @rapport/referrer` if not)', () => {
    const { source } = convertReferrerData(texts);
    expect(source.startsWith(GENERATED_HEADER)).toBe(true);
    expect(read('src/referrers.generated.ts')).toBe(source);
  });

  it('converts without warnings', () => {
    expect(convertReferrerData(texts).warnings).toEqual([]);
  });

  it('rejects malformed data instead of generating something odd', () => {
    const withAdditions = (additions: string) => () => convertReferrerData({ ...texts, additions });
    expect(withAdditions('searchEngines:\n  Bad:\n    - urls: []\n      params: [q]\n')).toThrow(/urls/);
    expect(withAdditions("searchEngines:\n  Bad:\n    - urls: [bad.example]\n      params: ['/no-group/']\n")).toThrow(/capture group/);
    expect(withAdditions("searchEngines:\n  Bad:\n    - urls: [bad.example]\n      params: ['/(unclosed/']\n")).toThrow();
    expect(withAdditions("socials:\n  Bad:\n    - '{}.{}.example'\n")).toThrow(/\{\}/);
    expect(withAdditions("socials:\n  Bad:\n    - 'ab{}.example'\n")).toThrow(/\{\}/);
    expect(withAdditions("socials:\n  Bad:\n    - 'has space.example'\n")).toThrow(/invalid host/);
  });

  it('knows every name of the source files, merged by name', () => {
    const matomoEngines = Object.keys(parse(texts.searchEngines));
    const matomoSocials = Object.keys(parse(texts.socials));
    const matomoAi = Object.keys(parse(texts.aiAssistants));
    const additions = parse(texts.additions);
    const renames: Record<string, string> = additions.renames;
    const distinct = (...lists: string[][]) => new Set(lists.flat().map((name) => renames[name] ?? name)).size;

    const stats = referrerStats();
    expect(stats.searchEngines).toBe(distinct(matomoEngines, Object.keys(additions.searchEngines)));
    expect(stats.socialNetworks).toBe(distinct(matomoSocials, Object.keys(additions.socials)));
    expect(stats.emailProviders).toBe(distinct(Object.keys(additions.emailProviders)));
    expect(stats.aiAssistants).toBe(distinct(matomoAi, Object.keys(additions.aiAssistants ?? {})));
  });

  it('reports the sizes of the fetched lists', () => {
    // Lower bounds taken from the fetched files: Matomo's list has 272 engines, 73 social networks
    // and 15 AI assistants; our additions bring the totals to 279, 98, 35 email providers, 937 hosts.
    const stats = referrerStats();
    expect(stats.searchEngines).toBeGreaterThanOrEqual(272);
    expect(stats.socialNetworks).toBeGreaterThanOrEqual(90);
    expect(stats.emailProviders).toBeGreaterThanOrEqual(30);
    expect(stats.aiAssistants).toBeGreaterThanOrEqual(15);
    expect(stats.hosts).toBeGreaterThanOrEqual(900);
    const keys = new Set(
      [...SEARCH_ENGINES.flatMap((engine) => engine.configs.flatMap((config) => config.hosts)), ...[SOCIAL_NETWORKS, EMAIL_PROVIDERS, AI_ASSISTANTS].flat().flatMap((entry) => entry.hosts)],
    );
    expect(stats.hosts).toBe(keys.size);
  });

  it('gives no host two meanings outside search (search hosts fall through without a keyword)', () => {
    const owner = new Map<string, string>();
    const clashes: string[] = [];
    for (const [kind, lists] of [['social', SOCIAL_NETWORKS], ['email', EMAIL_PROVIDERS], ['ai', AI_ASSISTANTS]] as const) {
      for (const { name, hosts } of lists) {
        for (const host of hosts) {
          const previous = owner.get(host);
          if (previous !== undefined && previous !== `${kind}:${name}`) clashes.push(`${host}: ${previous} and ${kind}:${name}`);
          owner.set(host, `${kind}:${name}`);
        }
      }
    }
    expect(clashes).toEqual([]);
  });

  it('classifies every social, email and AI host of the data as what it is listed as', () => {
    const expected = { social: 'social', email: 'email', ai: 'unknown' } as const;
    const wrong: string[] = [];
    for (const [kind, lists] of [['social', SOCIAL_NETWORKS], ['email', EMAIL_PROVIDERS], ['ai', AI_ASSISTANTS]] as const) {
      for (const { name, hosts } of lists) {
        for (const host of hosts) {
          if (host.includes('{}')) continue;
          // App packages share the host map, so one https:// form checks hosts and packages alike.
          const referrer = `https://${host.includes('/') ? host : `${host}/`}`;
          const result = parseReferrer(referrer);
          if (result.medium !== expected[kind] || result.source !== name) wrong.push(`${referrer} → ${JSON.stringify(result)}, listed as ${kind} ${name}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
