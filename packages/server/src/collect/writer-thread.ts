import { Worker } from 'node:worker_threads';
import { StoreUnavailableError } from '../store/store.js';
import type { Synchronous } from '../store/sqlite/open.js';
import type { IngestEvent, IngestOptions, IngestResult, Site } from '../store/types.js';
import type { Ingester } from './ingester.js';
import { startModuleWorker } from '../module-worker.js';

/** What the main thread asks of the writer thread. */
export type WriterRequest = { kind: 'ingest'; id: number; site: Site; events: IngestEvent[]; options?: IngestOptions } | { kind: 'close' };

/** What the writer thread answers. */
export type WriterReply =
  | { kind: 'done'; id: number; result: IngestResult }
  | { kind: 'failed'; id: number; error: { message: string; name: string; code?: string } }
  | { kind: 'closed' };

export interface WriterThreadData {
  file: string;
  synchronous?: Synchronous;
}

/**
 * The ingest pipeline and its SQLite writes on a thread of their own: most of a collect call's
 * CPU is SQLite's, and on the main thread it would hold up HTTP, parsing and every decision. The
 * thread has its own connection to the file and its own group commit, and answers a call only
 * once the group holding it is fsynced, so a 200 still means durable. The main thread's
 * connection keeps reading meanwhile (WAL); its own writes (console, erasure, retention) take
 * SQLite's write lock in turn with the thread's groups.
 *
 * A thread that stops (a crash, say) fails the calls in flight with `StoreUnavailableError`
 * (503: the client retries, and dedupe by message id makes the retry safe); the next call
 * starts a new thread.
 *
 * @example
 * const writer = new WriterThread('./data/rapport.db', {});
 * const { outcomes } = await writer.ingest(site, events);
 * await writer.close();
 */
export class WriterThread implements Ingester {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (result: IngestResult) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly file: string,
    private readonly options: { synchronous?: Synchronous },
  ) {}

  ingest(site: Site, events: IngestEvent[], options?: IngestOptions): Promise<IngestResult> {
    if (this.closing) return Promise.reject(new StoreUnavailableError('the server is shutting down'));
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    // Busy, the thread keeps the process alive until it has answered; idle, it does not.
    if (this.pending.size === 0) worker.ref();
    return new Promise<IngestResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ kind: 'ingest', id, site, events, options } satisfies WriterRequest);
    });
  }

  close(): Promise<void> {
    return (this.closing ??= this.stop());
  }

  private async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    // The thread drains its group commit (every call it was given ends durable) before it says so.
    await new Promise<void>((resolve) => {
      worker.on('message', (reply: WriterReply) => reply.kind === 'closed' && resolve());
      worker.once('exit', () => resolve());
      worker.ref();
      worker.postMessage({ kind: 'close' } satisfies WriterRequest);
    });
    this.worker = null;
    await worker.terminate();
  }

  private start(): Worker {
    const data: WriterThreadData = { file: this.file, synchronous: this.options.synchronous };
    const worker = startModuleWorker(new URL(import.meta.url.endsWith('.ts') ? './writer-thread-entry.ts' : './writer-thread-entry.js', import.meta.url), data);
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      if (reply.kind === 'closed') return;
      const call = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.kind === 'done') call?.resolve(reply.result);
      else call?.reject(errorOf(reply.error));
    });
    const fail = (why: string) => {
      if (this.worker === worker) this.worker = null;
      const error = new StoreUnavailableError(`the writer thread stopped (${why}); nothing it had not answered is known to be stored`);
      for (const call of this.pending.values()) call.reject(error);
      this.pending.clear();
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
    return worker;
  }
}

/** A failure inside the thread, as the main thread's routes understand it. */
function errorOf(error: { message: string; name: string; code?: string }): Error {
  // Busy past the timeout or unavailable: nothing was stored and a retry may well succeed.
  if (error.name === 'StoreUnavailableError' || error.code?.startsWith('SQLITE_BUSY')) {
    return new StoreUnavailableError(error.message);
  }
  return Object.assign(new Error(error.message), { code: error.code });
}
