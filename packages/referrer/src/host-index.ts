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
   * A host beyond DNS's limits (`withinDnsLimits`) has none.
   */
  resolve(host: string): readonly Candidate[];
  /** Candidates for an Android app package: exact matches only, package names are not domains. */
  resolveApp(packageName: string): readonly Candidate[];
  /** Distinct host keys known (a `host/path` entry counts on its own). */
  readonly size: number;
  /** Hosts currently cached, for tests and diagnostics. */
  readonly cached: number;
  /**
   * Lookups of host keys made so far, for tests and diagnostics. One `resolve` makes at most
   * `(widest + 2)²` of them, `widest` being the most labels of any key: the host's length plays no part.
   */
  readonly lookups: number;
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

/** The most characters of a DNS name (RFC 1035), without its trailing dot. */
export const MAX_HOST_LENGTH = 253;

/** The most labels of a DNS name: one-character labels and their dots fill 253 characters. */
export const MAX_HOST_LABELS = 127;

/**
 * Whether a host (lower case, without a trailing dot) fits DNS's limits. A longer name cannot be
 * registered, so it names no site; refusing it where hosts are read bounds the work any referrer
 * can cause, whatever the caller.
 */
export function withinDnsLimits(host: string): boolean {
  if (host.length > MAX_HOST_LENGTH) return false;
  // Empty labels ("a..b") are parsed by URL, so 253 characters can hold more than 127 labels.
  let labels = 1;
  for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
    if (++labels > MAX_HOST_LABELS) return false;
  }
  return true;
}

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
  // A key of n labels can only equal a string of n labels: nothing wider than the widest key is worth
  // building or looking up, which bounds the work per host whatever its number of labels.
  let widest = 0;
  for (const { definition, hosts } of entries) {
    for (const raw of hosts) {
      const key = raw.toLowerCase();
      keys.add(key);
      const slash = key.indexOf('/');
      const host = slash === -1 ? key : key.slice(0, slash);
      widest = Math.max(widest, host.split('.').length);
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
  let lookups = 0;

  function resolve(rawHost: string): readonly Candidate[] {
    const host = rawHost.toLowerCase().replace(/\.$/, '');
    if (!withinDnsLimits(host)) return NONE;
    const hit = cache.get(host);
    if (hit) return hit;
    const found: Candidate[] = [];
    // Paths already found per definition: one definition reached again through a less specific key
    // adds nothing.
    const seen = new Map<Definition, Array<string | null>>();
    const tried = new Set<string>();
    const tryKey = (key: string) => {
      if (tried.has(key)) return;
      tried.add(key);
      lookups++;
      const list = byHost.get(key);
      if (!list) return;
      for (const candidate of list) {
        const paths = seen.get(candidate.definition);
        if (paths === undefined) seen.set(candidate.definition, [candidate.path]);
        else if (paths.includes(candidate.path)) continue;
        else paths.push(candidate.path);
        found.push(candidate);
      }
    };
    // Each step looks up the labels from `from` on, as they are and with `{}` wildcards. Keys wider
    // than any in the index cannot match, so skipping them changes no answer.
    const labels = host.split('.');
    const tryExact = (from: number) => {
      if (labels.length - from <= widest) tryKey(from === 0 ? host : labels.slice(from).join('.'));
    };
    const tryWildcards = (from: number) => {
      for (const key of wildcardKeys(labels, from, widest)) tryKey(key);
    };
    const stripped = stripMobileOrWww(host) === host ? 0 : 1;
    tryExact(0);
    tryExact(stripped);
    tryWildcards(0);
    tryWildcards(stripped);
    // Parent domains, most specific first; those wider than `widest + 1` labels match nothing, so
    // a host longer than any key is looked up only through its last labels.
    const n = labels.length;
    for (let i = Math.max(stripped + 1, n - widest - 1); i <= n - 2; i++) {
      if (n - i === 2 && isRegistrySuffix(labels[n - 2], labels[n - 1])) break;
      tryExact(i);
      tryWildcards(i);
    }
    const result = found.length === 0 ? NONE : found;
    if (cache.size >= cacheSize) cache.clear();
    cache.set(host, result);
    return result;
  }

  return {
    resolve,
    resolveApp: (packageName) => {
      lookups++;
      return byHost.get(packageName.toLowerCase()) ?? NONE;
    },
    size: keys.size,
    get cached() {
      return cache.size;
    },
    get lookups() {
      return lookups;
    },
  };
}

function stripMobileOrWww(host: string): string {
  for (const prefix of ['www.', 'm.']) {
    if (host.startsWith(prefix) && host.indexOf('.', prefix.length) !== -1) return host.slice(prefix.length);
  }
  return host;
}

function isRegistrySuffix(second: string, top: string): boolean {
  return top.length === 2 && SECOND_LEVEL.has(second);
}

/**
 * The `{}` keys that the labels from `from` on could match: the top-level domain replaced (two
 * labels when it is a registry suffix like co.uk), or one subdomain label replaced (`{}.bing.com`,
 * `images.{}.ask.com`). Keys of more than `widest` labels are left out: none exists, and building
 * them is what made long hosts cost cubic time.
 */
function wildcardKeys(labels: readonly string[], from: number, widest: number): string[] {
  const n = labels.length - from;
  if (n < 2) return [];
  const keys: string[] = [];
  if (n >= 3 && n - 1 <= widest && isRegistrySuffix(labels[labels.length - 2], labels[labels.length - 1])) {
    keys.push([...labels.slice(from, labels.length - 2), '{}'].join('.'));
  }
  if (n > widest) return keys;
  keys.push([...labels.slice(from, labels.length - 1), '{}'].join('.'));
  for (let i = 0; i <= n - 3; i++) {
    const copy = labels.slice(from);
    copy[i] = '{}';
    keys.push(copy.join('.'));
  }
  return keys;
}
