import { newId, newKey } from '../ids.js';
import type { Store } from '../store/store.js';
import type { NewSite, Site, SitePatch } from '../store/types.js';

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
   * The site of a write key. A miss re-reads the sites (at most once a second), so that a site
   * made by `rapport sites create` while the server runs works without a restart.
   */
  async findByWriteKey(key: string): Promise<Site | undefined> {
    return this.byWriteKey.get(key) ?? ((await this.refreshOnMiss()) ? this.byWriteKey.get(key) : undefined);
  }

  async findBySecret(secret: string): Promise<Site | undefined> {
    return this.bySecret.get(secret) ?? ((await this.refreshOnMiss()) ? this.bySecret.get(secret) : undefined);
  }

  private lastRefresh = 0;

  private async refreshOnMiss(): Promise<boolean> {
    const now = Date.now();
    if (now - this.lastRefresh < 1000) return false;
    this.lastRefresh = now;
    const sites = await this.store.listSites();
    if (sites.length === this.byId.size) return false;
    this.byId.clear();
    this.byWriteKey.clear();
    this.bySecret.clear();
    this.origins.clear();
    for (const site of sites) this.index(site);
    return true;
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
