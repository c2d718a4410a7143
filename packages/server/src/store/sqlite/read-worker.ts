import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * A worker thread with a read-only connection of its own to the database file, for reads that
 * take seconds over a million profiles (the console overview, the ABC/RFM rankings): on the
 * main thread they would hold up collect and decide for everyone. WAL lets it read while the
 * main connection writes; each job sees the database as of its start.
 *
 * `jobs` is the source text of the worker's jobs: it defines `const jobs = { name(db, args) }`,
 * whose functions use nothing but their arguments and the other functions of that text (they are
 * written in TypeScript modules and handed over with `String(fn)`). Results travel by structured
 * clone: typed arrays and plain arrays are cheap, Maps of many entries are not.
 *
 * @example
 * const reader = new ReadWorker('./data/rapport.db', 'const jobs = { count: (db) => db.prepare("SELECT 1").get() };');
 * await reader.run('count', {});
 */
export class ReadWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 0;

  constructor(
    private readonly file: string,
    private readonly jobs: string,
  ) {}

  run<T>(job: string, args: unknown): Promise<T> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      worker.postMessage({ id, job, args });
    });
  }

  /** Stops the worker (the store is closing); jobs still running fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private start(): Worker {
    const source = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
db.pragma('cache_size = -65536');
db.pragma('mmap_size = 268435456');
db.pragma('temp_store = MEMORY');
// Run from the TypeScript sources through tsx (the e2e tests, \`--import tsx\`), esbuild names
// functions with a helper of the module, which the functions' source text then calls.
const __name = (fn) => fn;
${this.jobs}
parentPort.on('message', ({ id, job, args }) => {
  try {
    parentPort.postMessage({ id, result: jobs[job](db, args) });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message) });
  }
});`;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(source, { eval: true, workerData: { driver, file: this.file } });
    // An idle worker must not keep the process alive.
    worker.unref();
    worker.on('message', (reply: { id: number; result?: unknown; error?: string }) => {
      const request = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.error !== undefined) request?.reject(new Error(`read in the worker failed: ${reply.error}`));
      else request?.resolve(reply.result);
    });
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const request of this.pending.values()) request.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('the read worker stopped')));
    return worker;
  }
}
