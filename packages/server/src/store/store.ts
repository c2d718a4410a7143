import type {
  EventQuery,
  IngestEvent,
  IngestResult,
  NewSite,
  Page,
  Site,
  SitePatch,
  StoredEvent,
} from './types.js';

/**
 * Everything Rapport keeps, behind one asynchronous interface. SQLite (`SqliteStore`) is the
 * embedded default; the methods are coarse (one call, one transaction) so that a PostgreSQL
 * store can implement them with the same guarantees.
 */
export interface Store {
  /** True when the database answers a query. */
  health(): Promise<boolean>;
  close(): Promise<void>;

  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;

  createSite(site: NewSite & { id: string; writeKey: string; secret: string }): Promise<Site>;
  updateSite(id: string, patch: SitePatch & { secret?: string }): Promise<Site | null>;
  listSites(): Promise<Site[]>;

  /**
   * Stores the messages of one collect call for one site, in order, in one transaction: dedupes
   * by messageId, resolves each message's profile (merges included), keeps computed attributes
   * current, and resolves only once the transaction is committed.
   */
  ingest(site: Site, events: IngestEvent[]): Promise<IngestResult>;

  /** Events of a site, newest first. */
  listEvents(query: EventQuery): Promise<Page<StoredEvent>>;
}
