import { Catalog } from './decisions/catalog.js';
import { HttpError } from './http/errors.js';
import { RankingCache } from './profiles/ranking-cache.js';
import { trustedProxies, type TrustedProxies, type TrustProxy } from './http/client-ip.js';
import { RateLimiter, type RateLimit } from './http/rate-limit.js';
import { newId } from './ids.js';
import type { SiteDirectory } from './sites/directory.js';
import type { Store } from './store/store.js';
import { directIngester, type Ingester } from './collect/ingester.js';
import { CookielessIds } from './identity/cookieless.js';
import { AutomationEngine, type EngineOptions } from './automations/engine.js';
import { Recommender } from './recommendations/service.js';

/**
 * Options of `createApp`, with their defaults.
 */
export interface AppOptions {
  store: Store;
  sites: SiteDirectory;
  /**
   * What stores collected messages (see `openIngester`: SQLite's writer thread, say); the caller
   * closes it. @default the ingest pipeline on this thread, on `store`
   */
  ingester?: Ingester;
  /** The admin token of the JSON API and the console. */
  adminToken: string;
  /**
   * The reverse proxies you run in front of Rapport: a hop count (`1` or `true`: the socket's
   * peer is your proxy) or their addresses and CIDR ranges (`['10.0.0.0/8']`). The client IP is
   * then the right-most X-Forwarded-For entry that is not a trusted proxy, and X-Forwarded-Proto
   * and -Host are believed. @default false (the socket's address; forwarded headers ignored)
   */
  trustProxy?: TrustProxy;
  /**
   * Requests per second per client IP on the collect and decide endpoints, an IPv6 client counted
   * by its /64 (see `clientKey`); null turns it off. @default { rate: 50, burst: 200 }
   */
  rateLimitPerIp?: RateLimit | null;
  /** Requests per second per site; null turns it off. @default { rate: 2000, burst: 4000 } */
  rateLimitPerSite?: RateLimit | null;
  /** Folder holding the script-tag build (`sdk.js`, `sdk.js.map`). @default the built @rapport/sdk */
  sdkDir?: string;
  /**
   * The address people reach this server at (behind a proxy, the public one): the links in
   * automation emails point there. @default 'http://localhost:8787'
   */
  publicUrl?: string | (() => string);
  /** Automation actions added to or put in place of the built-in ones, and scheduler settings (tests). */
  automations?: Pick<EngineOptions, 'actions' | 'scheduler'>;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

export const DEFAULT_RATE_LIMIT_PER_IP: RateLimit = { rate: 50, burst: 200 };
export const DEFAULT_RATE_LIMIT_PER_SITE: RateLimit = { rate: 2000, burst: 4000 };

/** What every route module gets: the dependencies and the shared limits. */
export interface AppContext {
  store: Store;
  ingester: Ingester;
  sites: SiteDirectory;
  adminToken: string;
  options: { trustProxy: boolean; proxies: TrustedProxies | null; sdkDir: string | undefined };
  limits: { perIp(key: string): void; perSite(key: string): void };
  /** Segments and offers in memory, for decisions. */
  catalog: Catalog;
  /** ABC and RFM per site, computed on demand and cached. */
  rankings: RankingCache;
  now: () => number;
  /** Counters of ordinary mishaps, shown by `/healthz`: requests whose client left mid-upload. */
  stats: { clientsClosed: number };
  /** This process among the nodes that share the store: the holder of the leases it takes. */
  node: string;
  /** Automations: started from ingest, their due steps run by a scheduler the server starts. */
  automations: AutomationEngine;
  /** The anonymous ids of browsers in cookieless mode (identity/cookieless.ts). */
  cookieless: CookielessIds;
  /** Each site's trained recommendation models, served from memory (recommendations/service.ts). */
  recommender: Recommender;
}

export function appContext(options: AppOptions): AppContext {
  const now = options.now ?? Date.now;
  const node = `node_${newId()}`;
  const catalog = new Catalog(options.store);
  // One node counts a site's rankings for all when several share the store.
  const rankings = new RankingCache(options.store, now, options.store.kind === 'postgres' ? { holder: node } : null);
  followChanges(options.store, options.sites, catalog, rankings);
  const ingester = options.ingester ?? directIngester(options.store);
  const automations = new AutomationEngine({
    store: options.store,
    ingester,
    sites: options.sites,
    segments: catalog,
    holder: node,
    now,
    publicUrl: typeof options.publicUrl === 'function' ? options.publicUrl : () => (options.publicUrl as string | undefined) ?? 'http://localhost:8787',
    ...options.automations,
  });
  return {
    store: options.store,
    ingester,
    sites: options.sites,
    adminToken: options.adminToken,
    options: (() => {
      const proxies = trustedProxies(options.trustProxy);
      return { trustProxy: proxies !== null, proxies, sdkDir: options.sdkDir };
    })(),
    limits: {
      perIp: limiter(options.rateLimitPerIp === undefined ? DEFAULT_RATE_LIMIT_PER_IP : options.rateLimitPerIp, now, 'this IP address'),
      perSite: limiter(options.rateLimitPerSite === undefined ? DEFAULT_RATE_LIMIT_PER_SITE : options.rateLimitPerSite, now, 'this site'),
    },
    catalog,
    rankings,
    now,
    stats: { clientsClosed: 0 },
    cookieless: new CookielessIds(options.store, now),
    node,
    automations,
    recommender: new Recommender(options.store, now),
  };
}

/** Changes made through other nodes reach this one's caches (see `Store.onChange`). */
function followChanges(store: Store, sites: SiteDirectory, catalog: Catalog, rankings: RankingCache) {
  const reloadSites = () =>
    sites.reload().catch((error) => console.error('rapport: could not reload the sites after a change elsewhere', error));
  store.onChange((change) => {
    switch (change.what) {
      case 'sites':
        return void reloadSites();
      case 'catalog':
        return catalog.invalidate(change.siteId);
      case 'rankings':
        return rankings.invalidate(change.siteId);
      case 'everything':
        catalog.invalidateAll();
        rankings.invalidateAll();
        return void reloadSites();
    }
  });
}

function limiter(limit: RateLimit | null, now: () => number, who: string) {
  if (!limit) return () => {};
  const buckets = new RateLimiter(limit, now);
  return (key: string) => {
    const wait = buckets.take(key);
    if (wait > 0) {
      throw new HttpError(429, `too many requests from ${who}; retry after ${wait} s`, undefined, {
        'Retry-After': String(wait),
      });
    }
  };
}
