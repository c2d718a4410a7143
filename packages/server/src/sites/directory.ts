import { newId, newKey } from '../ids.js';
import type { Store } from '../store/store.js';
import type { NewSite, Site, SitePatch } from '../store/types.js';

/** Shortest time between two re-reads of the sites for keys that are not known. */
const REFRESH_INTERVAL_MS = 250;

/**
 * The sites, kept in memory: every collect and decide call authenticates against them, so they
 * are looked up in maps rather than read from the database. All changes go through here, which
 * keeps the maps true.
 */
export class SiteDirectory {
  private byId = new Map<string, Site>();
  private byWriteKey = new Map<string, Site>();
  private bySecret = new Map<string, Site>();
  private origins = new Set<string>();

  private constructor(private readonly store: Store) {}

  static async load(store: Store): Promise<SiteDirectory> {
    const directory = new SiteDirectory(store);
    for (const site of await store.listSites()) directory.index(site);
    return directory;
  }

  list(): Site[] {
    return [...this.byId.values()];
  }

  get(id: string): Site | undefined {
    return this.byId.get(id);
  }

  /**
   * The site of a write key. A miss re-reads the sites (see `refreshOnMiss`), so that a site
   * made elsewhere while the server runs (`rapport sites create`, another node) works at once.
   */
  async findByWriteKey(key: string): Promise<Site | undefined> {
    return this.byWriteKey.get(key) ?? ((await this.refreshOnMiss()) ? this.byWriteKey.get(key) : undefined);
  }

  /** The site of a write key among those already read, without a re-read on a miss. */
  cachedByWriteKey(key: string): Site | undefined {
    return this.byWriteKey.get(key);
  }

  async findBySecret(secret: string): Promise<Site | undefined> {
    return this.bySecret.get(secret) ?? ((await this.refreshOnMiss()) ? this.bySecret.get(secret) : undefined);
  }

  private lastRefresh = 0;
  /** The re-read that a miss joins: one whose query has not started yet. */
  private queued: Promise<boolean> | null = null;
  private running: Promise<unknown> = Promise.resolve();

  /**
   * Re-reads the sites for a key that is not known, at most once per `REFRESH_INTERVAL_MS`.
   * A miss never goes without a read that starts after it: within the interval it waits for the
   * next one (which every miss meanwhile shares), rather than failing at once. A key that is
   * answered 401 is final for the SDK, which drops the batch, so a site just made on another
   * node must be found even when a re-read has just happened; an unknown key costs its sender
   * that wait, and the database one small read per interval at most.
   */
  private refreshOnMiss(): Promise<boolean> {
    if (this.queued) return this.queued;
    const queued: Promise<boolean> = this.running.then(async () => {
      const wait = this.lastRefresh + REFRESH_INTERVAL_MS - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      // From here on, a miss needs a read that starts after it: the next one.
      if (this.queued === queued) this.queued = null;
      this.lastRefresh = Date.now();
      this.replace(await this.store.listSites());
      return true;
    });
    this.queued = queued;
    this.running = queued.catch(() => {});
    return queued;
  }

  /** Reads every site again: another node changed one (see `Store.onChange`). */
  async reload(): Promise<void> {
    this.replace(await this.store.listSites());
  }

  private replace(sites: Site[]) {
    this.byId.clear();
    this.byWriteKey.clear();
    this.bySecret.clear();
    this.origins.clear();
    for (const site of sites) this.index(site);
  }

  /** Whether any site allows this origin: enough to answer a CORS preflight, which has no key. */
  knowsOrigin(origin: string): boolean {
    return this.origins.has(origin);
  }

  async create(input: NewSite): Promise<Site> {
    const site = await this.store.createSite({
      ...input,
      id: `site_${newId()}`,
      writeKey: newKey('wk'),
      secret: newKey('sk'),
    });
    this.index(site);
    return site;
  }

  async update(id: string, patch: SitePatch): Promise<Site | null> {
    const before = this.byId.get(id);
    if (!before) return null;
    const site = await this.store.updateSite(id, { ...patch, secret: patch.rotateSecret ? newKey('sk') : undefined });
    if (!site) return null;
    this.byWriteKey.delete(before.writeKey);
    this.bySecret.delete(before.secret);
    this.index(site);
    this.origins = new Set(this.list().flatMap((s) => s.origins));
    return site;
  }

  private index(site: Site) {
    this.byId.set(site.id, site);
    this.byWriteKey.set(site.writeKey, site);
    this.bySecret.set(site.secret, site);
    for (const origin of site.origins) this.origins.add(origin);
  }
}
