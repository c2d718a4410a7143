import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';

export type Synchronous = 'full' | 'normal';

export interface OpenOptions {
  /**
   * `full` (default): every commit is on disk (the WAL fsynced) before the write is acknowledged,
   * so an acknowledged message survives a power cut. `normal`: acknowledged once written to the
   * WAL, which survives a crash of the process but not of the machine.
   */
  synchronous?: Synchronous;
  /**
   * `inline` (default): SQLite's own, in the commit that takes the WAL past 1,000 pages.
   * `background`: on a thread of their own (see `Checkpointer`), for the connection that does
   * most writes (the writer thread's).
   */
  checkpoints?: 'inline' | 'background';
}

/**
 * Opens (creating the folder and file if needed) a SQLite database with Rapport's pragmas and
 * brings its schema up to date.
 */
export function openDatabase(file: string, options: OpenOptions = {}): Database.Database {
  // A URL is never meant as a file name: without this, a postgres:// URL given to the SQLite
  // store would quietly make a folder named "postgres:" and a database in it.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) throw new Error(`${file.split('://')[0]}:// is not a SQLite file path`);
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // SQLite itself never waits for the disk: in `full` mode the store fsyncs the WAL after each
  // group commit on libuv's thread pool (see WalSync), so the event loop keeps serving while the
  // disk works, and a write is acknowledged only after that fsync. Checkpoints in NORMAL mode
  // still sync the WAL before and the database after copying, so nothing acknowledged is lost.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // A larger page cache and memory-mapped reads keep profile reads off the disk.
  db.pragma('cache_size = -65536');
  db.pragma('mmap_size = 268435456');
  db.pragma('temp_store = MEMORY');
  migrate(db);
  // Statistics for the query planner, kept cheap by the analysis limit: without them it can
  // prefer a short index prefix to the index that fits the query.
  db.pragma('analysis_limit = 1000');
  db.pragma('optimize = 0x10002');
  return db;
}

/**
 * Makes what has been committed durable by fsyncing the WAL file on libuv's thread pool. Each
 * group commit starts its own fsync after its commit, so an acknowledgement never rests on an
 * fsync that began before its data was written.
 */
export class WalSync {
  private fd: number | null = null;

  constructor(private readonly walFile: string | null) {}

  async sync(): Promise<void> {
    if (!this.walFile) return;
    this.fd ??= fs.openSync(this.walFile, 'r+');
    const fd = this.fd;
    await new Promise<void>((resolve, reject) => fs.fsync(fd, (error) => (error ? reject(error) : resolve())));
  }

  close() {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
