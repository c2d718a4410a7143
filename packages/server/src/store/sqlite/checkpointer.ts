import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the checkpointer copies what the WAL holds into the database file. */
const INTERVAL_MS = 100;

/**
 * WAL pages after which the writer checkpoints by itself: the bound on the WAL file (64 MB at
 * 4 KB pages) should the checkpointer fall behind. Below it the writer never checkpoints.
 */
export const WRITER_CHECKPOINT_PAGES = 16_000;

/**
 * Checkpoints on a thread of its own. By default SQLite checkpoints inside the commit that takes
 * the WAL past 1,000 pages: the writer then copies pages into the database file and syncs it
 * before it may go on, about a third of a busy writer's time under ingest. Here a connection of
 * its own copies them every 100 ms (PASSIVE: it never blocks the writer or a reader), and the
 * writer checkpoints only past `WRITER_CHECKPOINT_PAGES`. Nothing about durability changes: a
 * commit is durable once the WAL is synced, and a checkpoint syncs the WAL before it copies.
 *
 * @example
 * const checkpoints = new Checkpointer('./data/rapport.db');
 * db.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
 * await checkpoints.stop();
 */
export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(file: string) {
    const source = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
let timer;
const tick = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy (another checkpoint under way) or the file going away at shutdown: try next time.
  }
  timer = setTimeout(tick, workerData.interval);
};
tick();
parentPort.on('message', () => {
  clearTimeout(timer);
  db.close();
  parentPort.close();
});`;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(source, { eval: true, workerData: { driver, file, interval: INTERVAL_MS } });
    // It must never keep the process alive by itself.
    this.worker.unref();
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('error', (error) => console.error('rapport: the SQLite checkpointer stopped; the writer checkpoints by itself', error));
  }

  /** Closes its connection (the store is closing). */
  async stop(): Promise<void> {
    this.worker.postMessage('stop');
    await this.exited;
  }
}
