/**
 * Host lookup for referrer definitions. It runs for every ingested event, so everything that can be
 * precomputed is: one Map from host key to definitions, built once, and a bounded cache from a
 * referrer host to its ordered list of candidate definitions.
 */

export type DefinitionKind = 'search' | 'social' | 'email' | 'ai';

/** A search engine configuration, social network, email provider or AI assistant, ready to match. */
export interface Definition {
  readonly kind: DefinitionKind;
  readonly name: string;
  readonly params: readonly string[];
  readonly pathRegexes: readonly RegExp[];
  readonly hiddenPaths: readonly string[];
  readonly hiddenRegexes: readonly RegExp[];
  readonly charsets: readonly string[];
}

/** A definition that a host may stand for; `path` restricts it to referrers under that path. */
export interface Candidate {
  readonly definition: Definition;
  readonly path: string | null;
}

export interface HostIndex {
  /**
   * Candidates for a web host, most specific first: the exact host, the host without `www.`/`m.`,
   * `{}` wildcards, then parent domains; at each step `host/path` entries come before the bare host.
   */
  resolve(host: string): readonly Candidate[];
  /** Candidates for an Android app package: exact matches only, package names are not domains. */
  resolveApp(packageName: string): readonly Candidate[];
  /** Distinct host keys known (a `host/path` entry counts on its own). */
  readonly size: number;
  /** Hosts currently cached, for tests and diagnostics. */
  readonly cached: number;
}

export interface HostIndexOptions {
  /**
   * Hosts whose candidates are remembered; the cache is cleared when full, which is cheaper than LRU
   * bookkeeping and, since referrer hosts follow a steep power law, refills with the hot ones at once.
   * @default 5000
   */
  cacheSize?: number;
}

// Second-level labels under which country registries sell domains (co.uk, com.br, ne.jp): `name.{}`
// spans both labels there, and parent-domain fallback must stop before them.
const SECOND_LEVEL = new Set(['ac', 'co', 'com', 'edu', 'go', 'gob', 'gov', 'ltd', 'mil', 'ne', 'net', 'nic', 'nom', 'or', 'org', 'plc', 'sch']);

const NONE: readonly Candidate[] = Object.freeze([]);

/**
 * Builds the index. Entries are matched in the order given when keys tie, so pass search engines
 * first: a search host without a keyword falls through to the next candidate.
 *
 * @example
 * const index = createHostIndex([{ definition: google, hosts: ['google.{}', 'google.{}/imgres'] }]);
 * index.resolve('www.google.co.uk'); // [{ definition: google, path: '/imgres' }, { definition: google, path: null }]
 */
export function createHostIndex(
  entries: Iterable<{ definition: Definition; hosts: readonly string[] }>,
  { cacheSize = 5000 }: HostIndexOptions = {},
): HostIndex {
  const byHost = new Map<string, Candidate[]>();
  const keys = new Set<string>();
  for (const { definition, hosts } of entries) {
    for (const raw of hosts) {
      const key = raw.toLowerCase();
      keys.add(key);
      const slash = key.indexOf('/');
      const host = slash === -1 ? key : key.slice(0, slash);
      const candidate: Candidate = { definition, path: slash === -1 ? null : key.slice(slash) };
      const list = byHost.get(host);
      if (list) list.push(candidate);
      else byHost.set(host, [candidate]);
    }
  }
  // Longer paths are more specific; Array#sort is stable, so ties keep the order of `entries`.
  const specificity = (candidate: Candidate) => (candidate.path === null ? -1 : candidate.path.length);
  for (const list of byHost.values()) list.sort((a, b) => specificity(b) - specificity(a));

  const cache = new Map<string, readonly Candidate[]>();

  function resolve(rawHost: string): readonly Candidate[] {
    const host = rawHost.toLowerCase().replace(/\.$/, '');
    const hit = cache.get(host);
    if (hit) return hit;
    const found: Candidate[] = [];
    const tried = new Set<string>();
    const tryKey = (key: string) => {
      if (tried.has(key)) return;
      tried.add(key);
      const list = byHost.get(key);
      if (!list) return;
      for (const candidate of list) {
        // One definition reached again through a less specific key adds nothing.
        if (!found.some((c) => c.definition === candidate.definition && c.path === candidate.path)) found.push(candidate);
      }
    };
    const stripped = stripMobileOrWww(host);
    tryKey(host);
    tryKey(stripped);
    for (const key of wildcardKeys(host)) tryKey(key);
    for (const key of wildcardKeys(stripped)) tryKey(key);
    const labels = stripped.split('.');
    for (let i = 1; i <= labels.length - 2; i++) {
      const parent = labels.slice(i);
      if (isRegistrySuffix(parent)) break;
      const key = parent.join('.');
      tryKey(key);
      for (const wildcard of wildcardKeys(key)) tryKey(wildcard);
    }
    const result = found.length === 0 ? NONE : found;
    if (cache.size >= cacheSize) cache.clear();
    cache.set(host, result);
    return result;
  }

  return {
    resolve,
    resolveApp: (packageName) => byHost.get(packageName.toLowerCase()) ?? NONE,
    size: keys.size,
    get cached() {
      return cache.size;
    },
  };
}

function stripMobileOrWww(host: string): string {
  for (const prefix of ['www.', 'm.']) {
    if (host.startsWith(prefix) && host.indexOf('.', prefix.length) !== -1) return host.slice(prefix.length);
  }
  return host;
}

function isRegistrySuffix(labels: readonly string[]): boolean {
  return labels.length === 2 && labels[1].length === 2 && SECOND_LEVEL.has(labels[0]);
}

/**
 * The `{}` keys a host could match: the top-level domain replaced (two labels when it is a
 * registry suffix like co.uk), or one subdomain label replaced (`{}.bing.com`, `images.{}.ask.com`).
 */
function wildcardKeys(host: string): string[] {
  const labels = host.split('.');
  const n = labels.length;
  if (n < 2) return [];
  const keys: string[] = [];
  if (n >= 3 && isRegistrySuffix(labels.slice(n - 2))) keys.push([...labels.slice(0, n - 2), '{}'].join('.'));
  keys.push([...labels.slice(0, n - 1), '{}'].join('.'));
  for (let i = 0; i <= n - 3; i++) {
    const copy = labels.slice();
    copy[i] = '{}';
    keys.push(copy.join('.'));
  }
  return keys;
}
