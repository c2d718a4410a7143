import { describe, expect, it } from 'vitest';
import type { Store } from '../store/store.js';
import { DEFAULT_SITE_SETTINGS, type Site } from '../store/types.js';
import { SiteDirectory } from './directory.js';

/** The one method a directory reads, over a list that "another node" adds to; counts the reads. */
function fakeStore(sites: Site[]) {
  const store = {
    reads: 0,
    async listSites() {
      store.reads++;
      return [...sites];
    },
  };
  return store;
}

const site = (n: number): Site => ({
  id: `site_${n}`,
  name: `Site ${n}`,
  writeKey: `wk_${n}`,
  secret: `sk_${n}`,
  origins: [],
  settings: { ...DEFAULT_SITE_SETTINGS },
  createdAt: n,
});

describe('SiteDirectory', () => {
  it('finds a site made elsewhere even right after a re-read, sharing one read among the misses meanwhile', async () => {
    const sites = [site(1)];
    const store = fakeStore(sites);
    const directory = await SiteDirectory.load(store as unknown as Store);
    expect(store.reads).toBe(1);

    // A miss re-reads at once: an unknown key stays unknown.
    expect(await directory.findByWriteKey('wk_nope')).toBeUndefined();
    expect(store.reads).toBe(2);

    // Another node makes a site just after that read: its key is found, not refused, and the
    // misses that arrive together cost one read between them.
    sites.push(site(2));
    const found = await Promise.all([directory.findByWriteKey('wk_2'), directory.findBySecret('sk_2'), directory.findByWriteKey('wk_nope')]);
    expect(found.map((s) => s?.id)).toEqual(['site_2', 'site_2', undefined]);
    expect(store.reads).toBe(3);
    expect(directory.get('site_2')?.name).toBe('Site 2');
  });
});
