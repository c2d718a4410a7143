import { rmSync } from 'node:fs';
import { newId, newKey } from '../ids.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import type { Site, SiteSettings } from '../store/types.js';
import { newTestDb, testStoreKind } from './test-db.js';

export interface TestStore {
  store: Store;
  /** The database it opened: a SQLite file or a postgres:// URL (for a second store on it). */
  db: string;
  /** Closes the store and removes its temporary folder (SQLite). */
  close(): Promise<void>;
}

/**
 * A store on a new, empty database, of the kind the run tests (`RAPPORT_TEST_STORE=postgres`:
 * PostgresStore on a database of its own on the run's throwaway cluster; else SqliteStore on a
 * file in a temporary folder).
 *
 * @example
 * const { store, close } = await openTestStore();
 * afterEach(close);
 */
export async function openTestStore(): Promise<TestStore> {
  const { db, dir } = await newTestDb();
  const store = await openStoreAt(db);
  return {
    store,
    db,
    async close() {
      await store.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Another store on the database of `db` (a second node, say). */
export async function openStoreAt(db: string): Promise<Store> {
  if (testStoreKind() !== 'postgres') return SqliteStore.open(db);
  const { PostgresStore } = await import('../store/postgres/postgres-store.js');
  return PostgresStore.open(db, { poolSize: 5 });
}

/** A site made through the store, with fresh keys; identity verification off unless `settings` turn it on. */
export function createTestSite(store: Store, settings: Partial<SiteSettings> = {}, name = 'Test site'): Promise<Site> {
  return store.createSite({
    id: newId(),
    name,
    origins: [],
    writeKey: newKey('wk'),
    secret: newKey('sk'),
    settings: { requireUserHash: false, ...settings },
  });
}
