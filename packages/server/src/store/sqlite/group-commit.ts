import type { Database } from 'better-sqlite3';

interface Unit {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: writes submitted while the event loop is busy (several collect calls whose bodies
 * arrived together) run in one transaction, each inside its own savepoint, and share one commit
 * and one fsync. Every caller's promise settles only after that commit is durable, so a 200 still
 * means the caller's messages are on disk. A unit that throws rolls back its savepoint alone.
 *
 * The transaction is IMMEDIATE: it takes the write lock before its first read, because another
 * connection (the writer thread's, or the main thread's) may write to the same file; a deferred
 * transaction that read first could then not upgrade and would fail instead of waiting.
 */
export class GroupCommit {
  private queue: Unit[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly db: Database,
    /** Makes the committed transaction durable (an fsync); units settle only after it. */
    private readonly afterCommit: () => Promise<void> = async () => {},
    /** Most units in one transaction, so that one commit never blocks the loop for long. */
    private readonly maxUnits = 256,
  ) {}

  submit<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** Runs what is queued now and waits until every commit is durable (used on shutdown). */
  async drain(): Promise<void> {
    while (this.queue.length) this.flush();
    await Promise.allSettled([...this.inFlight]);
  }

  private flush = () => {
    this.scheduled = false;
    const units = this.queue.splice(0, this.maxUnits);
    if (this.queue.length) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    if (units.length === 0) return;
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.db.transaction(() => {
        for (const unit of units) {
          try {
            outcomes.push({ ok: true, value: this.db.transaction(unit.work)() });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      }).immediate();
    } catch (error) {
      // The group failed as a whole (disk full, I/O error, the write lock not had within the busy
      // timeout): nothing of it is stored.
      for (const unit of units) unit.reject(error);
      return;
    }
    const durable = this.afterCommit().then(
      () =>
        units.forEach((unit, i) => {
          const outcome = outcomes[i];
          if (outcome.ok) unit.resolve(outcome.value);
          else unit.reject(outcome.error);
        }),
      // Committed but not known to be on disk: nobody is told it is stored.
      (error) => units.forEach((unit) => unit.reject(error)),
    );
    this.inFlight.add(durable);
    void durable.finally(() => this.inFlight.delete(durable));
  };
}
