import type { Store } from '../store/store.js';
import type { IngestEvent, IngestOptions, IngestResult, Site } from '../store/types.js';
import { ingest } from './pipeline.js';
import { WriterThread } from './writer-thread.js';
import type { Synchronous } from '../store/sqlite/open.js';

/**
 * What stores the messages of a collect call: the ingest pipeline on this thread, or on SQLite's
 * writer thread (`WriterThread`). Either way it resolves once the messages are durable.
 *
 * @example
 * const ingester = openIngester(store, { db: './data/rapport.db' });
 * const { outcomes } = await ingester.ingest(site, events);
 * await ingester.close();
 */
export interface Ingester {
  ingest(site: Site, events: IngestEvent[], options?: IngestOptions): Promise<IngestResult>;
  /** Waits for what is in flight to be durable, then lets go of its resources (not the store). */
  close(): Promise<void>;
}

/** The pipeline on this thread, in the store's own transactions. */
export function directIngester(store: Store): Ingester {
  return { ingest: (site, events, options) => ingest(store, site, events, options), close: async () => {} };
}

export interface IngesterOptions {
  /** The database `store` was opened on: a SQLite file, `:memory:`, or a PostgreSQL URL. */
  db: string;
  synchronous?: Synchronous;
  /** SQLite files only: run the pipeline and its writes on a writer thread. @default true */
  writerThread?: boolean;
}

/**
 * The ingester for a store: a writer thread for a SQLite file (its own connection, so the main
 * thread keeps HTTP, parsing, enrichment and every read), else the pipeline on this thread. A
 * database in memory cannot be shared by two connections; PostgreSQL does its work in its own
 * processes already.
 */
export function openIngester(store: Store, options: IngesterOptions): Ingester {
  if (store.kind === 'sqlite' && options.db !== ':memory:' && options.writerThread !== false) {
    return new WriterThread(options.db, { synchronous: options.synchronous });
  }
  return directIngester(store);
}
