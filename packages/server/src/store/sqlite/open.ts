import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';

export type Synchronous = 'full' | 'normal';

export interface OpenOptions {
  /**
   * `full` (default): every commit is fsynced before a collect call is answered 200, so an
   * acknowledged message survives a power cut. `normal`: survives a crash of the process, not of
   * the machine; faster.
   */
  synchronous?: Synchronous;
}

/**
 * Opens (creating the folder and file if needed) a SQLite database with Rapport's pragmas and
 * brings its schema up to date.
 */
export function openDatabase(file: string, options: OpenOptions = {}): Database.Database {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // A larger page cache and memory-mapped reads keep profile reads off the disk.
  db.pragma('cache_size = -65536');
  db.pragma('mmap_size = 268435456');
  db.pragma('temp_store = MEMORY');
  migrate(db);
  return db;
}
