import { createHostIndex, type Definition, type DefinitionKind } from './host-index.js';
import { AI_ASSISTANTS, EMAIL_PROVIDERS, SEARCH_ENGINES, SOCIAL_NETWORKS } from './referrers.generated.js';
import type { HostListEntry } from './types.js';

// Built once at module load: every classification after that is Map lookups.
const entries: Array<{ definition: Definition; hosts: readonly string[] }> = [];

for (const engine of SEARCH_ENGINES) {
  for (const config of engine.configs) {
    entries.push({
      hosts: config.hosts,
      definition: {
        kind: 'search',
        name: engine.name,
        params: config.params,
        pathRegexes: (config.pathRegexes ?? []).map((source) => new RegExp(source)),
        hiddenPaths: config.hiddenPaths ?? [],
        hiddenRegexes: (config.hiddenRegexes ?? []).map((source) => new RegExp(source)),
        charsets: config.charsets ?? [],
      },
    });
  }
}

function addHostLists(kind: DefinitionKind, lists: readonly HostListEntry[]): void {
  for (const { name, hosts } of lists) {
    entries.push({
      hosts,
      definition: { kind, name, params: [], pathRegexes: [], hiddenPaths: [], hiddenRegexes: [], charsets: [] },
    });
  }
}
addHostLists('social', SOCIAL_NETWORKS);
addHostLists('email', EMAIL_PROVIDERS);
addHostLists('ai', AI_ASSISTANTS);

/** The index of everything the data knows; search engines first, see createHostIndex. */
export const knownReferrers = createHostIndex(entries);

// "google", "Hacker_News" and "hackernews" all name one source; compare names without case or punctuation.
const nameKey = (name: string) => name.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
const namesByKey = new Map<string, string>();
for (const { definition } of entries) {
  const key = nameKey(definition.name);
  if (key !== '' && !namesByKey.has(key)) namesByKey.set(key, definition.name);
}

const HOST_LIKE = /^[a-z0-9-]+(?:\.[a-z0-9-]+)+$/i;

/**
 * The display name for a campaign's `utm_source` when it names something the data knows, by name
 * ("facebook") or by host ("l.facebook.com"); otherwise the value as given.
 */
export function canonicalSource(source: string): string {
  const byName = namesByKey.get(nameKey(source));
  if (byName !== undefined) return byName;
  if (HOST_LIKE.test(source)) {
    for (const candidate of knownReferrers.resolve(source)) {
      if (candidate.path === null) return candidate.definition.name;
    }
  }
  return source;
}

/**
 * Counts of what the referrer data knows, for reports and release notes.
 *
 * @example
 * const { searchEngines, hosts } = referrerStats();
 * console.log(`${searchEngines} search engines over ${hosts} hosts`);
 */
export function referrerStats(): {
  searchEngines: number;
  socialNetworks: number;
  emailProviders: number;
  aiAssistants: number;
  hosts: number;
} {
  return {
    searchEngines: SEARCH_ENGINES.length,
    socialNetworks: SOCIAL_NETWORKS.length,
    emailProviders: EMAIL_PROVIDERS.length,
    aiAssistants: AI_ASSISTANTS.length,
    hosts: knownReferrers.size,
  };
}
