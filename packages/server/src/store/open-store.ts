import type { Synchronous } from './sqlite/open.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export interface StoreOptions {
  /** SQLite only: see `OpenOptions.synchronous`. @default 'full' */
  synchronous?: Synchronous;
  /** PostgreSQL only: connections in this process's pool. @default 10 */
  poolSize?: number;
}

/** A `postgres://` or `postgresql://` URL names a PostgreSQL database; anything else is a SQLite file. */
export const isPostgresUrl = (db: string) => /^postgres(ql)?:\/\//i.test(db);

/**
 * Opens the store that `db` names, bringing its schema up to date: PostgreSQL for a URL, else the
 * SQLite file at that path (created if missing).
 *
 * @example
 * const store = await openStore(process.env.RAPPORT_DB ?? './data/rapport.db');
 */
export async function openStore(db: string, options: StoreOptions = {}): Promise<Store> {
  if (!isPostgresUrl(db)) return SqliteStore.open(db, { synchronous: options.synchronous });
  // Loaded only when asked for: the embedded default never loads the PostgreSQL driver.
  const { PostgresStore } = await import('./postgres/postgres-store.js');
  return PostgresStore.open(db, { poolSize: options.poolSize });
}

/** A database name fit for logs: a URL without its password. */
export function describeDb(db: string): string {
  if (!isPostgresUrl(db)) return db;
  try {
    const url = new URL(db);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
