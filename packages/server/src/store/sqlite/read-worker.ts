import { JobWorker } from '../job-worker.js';

/**
 * A `JobWorker` with a read-only connection of its own to the database file: WAL lets it read
 * while the main connection writes; each job sees the database as of its start. Its jobs take the
 * better-sqlite3 `Database` as their context.
 *
 * @example
 * const reader = new ReadWorker('./data/rapport.db', 'const jobs = { count: (db) => db.prepare("SELECT 1").get() };');
 * await reader.run('count', {});
 */
export class ReadWorker extends JobWorker {
  constructor(file: string, jobs: string) {
    super({
      driver: 'better-sqlite3',
      setup: `context = new driver(workerData.file, { readonly: true, fileMustExist: true });
context.pragma('cache_size = -65536');
context.pragma('mmap_size = 268435456');
context.pragma('temp_store = MEMORY');`,
      jobs,
      data: { file },
    });
  }
}
