/**
 * How a visit arrived. Fixed list: first and last touch, segments and reports compare these values.
 * - `direct`: no referrer and no campaign parameters.
 * - `internal`: the referrer is the site itself (or one of `internalHosts`).
 * - `unknown`: a referrer we do not classify (an ordinary website, an AI assistant, garbage).
 */
export type Medium = 'search' | 'social' | 'email' | 'paid' | 'internal' | 'unknown' | 'direct';

/** The classification of one referrer (and landing URL). */
export interface Referral {
  medium: Medium;
  /**
   * Display name of the engine or network ("Google", "Facebook"), the campaign's `utm_source`, or for
   * referrers we do not know the host without `www.`; null when nothing names a source.
   */
  source: string | null;
  /** Search keyword (or a campaign's `utm_term`); null when there is none. */
  term: string | null;
}

export interface ParseReferrerOptions {
  /** Hosts that count as the site itself besides the page's own host, e.g. a checkout domain. */
  internalHosts?: readonly string[];
}

/** One host configuration of a search engine, in the shape scripts/convert.mjs generates. */
export interface SearchEngineConfig {
  /** Lower-case hosts; `{}` is a placeholder label, `host/path` restricts to a path prefix. */
  readonly hosts: readonly string[];
  /** Query parameters that carry the keyword, in order of preference. */
  readonly params: readonly string[];
  /** Regex sources whose first capture group reads the keyword from the path. */
  readonly pathRegexes?: readonly string[];
  /** Exact paths that are searches with a hidden keyword. */
  readonly hiddenPaths?: readonly string[];
  /** Regex sources, tested on path and query, that are searches with a hidden keyword. */
  readonly hiddenRegexes?: readonly string[];
  /** Legacy charsets (TextDecoder labels) a keyword may be encoded in, besides UTF-8. */
  readonly charsets?: readonly string[];
}

export interface SearchEngineEntry {
  readonly name: string;
  readonly configs: readonly SearchEngineConfig[];
}

export interface HostListEntry {
  readonly name: string;
  readonly hosts: readonly string[];
}
