import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../module-worker.js';
import type { ProductEventText } from '../store/recommendations.js';
import type { ObservedProduct } from './interactions.js';
import type { ModelStats, TrainOptions } from './models/types.js';

export interface TrainThreadData {
  options: TrainOptions;
}
export type TrainRequest = { kind: 'add'; rows: ProductEventText[] } | { kind: 'finish' } | { kind: 'observed'; limit: number };
export type TrainReply =
  | { kind: 'added' }
  | { kind: 'model'; data: string; stats: ModelStats }
  | { kind: 'observed'; products: ObservedProduct[] }
  | { kind: 'failed'; message: string };

/** What a training feeds stored events to and gets the model from: a thread, or this thread in tests. */
export interface TrainingSink {
  add(rows: ProductEventText[]): Promise<void>;
  /** The model as JSON text, and its figures. */
  finish(): Promise<{ data: string; stats: ModelStats }>;
  /** After `finish`: the products the events named, `limit` at a time; fewer than `limit` once all are given. */
  observed(limit: number): Promise<ObservedProduct[]>;
  /** Stops the thread: when the training is done, or given up. */
  close(): Promise<void>;
}

/**
 * One training on a worker thread of its own: parsing a site's events and building its model
 * take seconds of CPU at a million orders, which must not stall the requests this thread
 * answers. Pages are posted one at a time and each waits for the thread to take it, so no more
 * than one page is ever queued.
 *
 * @example
 * const sink = trainingThread({ ...DEFAULT_TRAIN_OPTIONS, now: Date.now() });
 * await sink.add(await store.recommendations.productEventTexts(site.id, since, null, 1000));
 * const { data, stats } = await sink.finish();
 * const products = await sink.observed(1000);
 * await sink.close();
 */
export function trainingThread(options: TrainOptions): TrainingSink {
  const entry = new URL(import.meta.url.endsWith('.ts') ? './train-thread-entry.ts' : './train-thread-entry.js', import.meta.url);
  const worker: Worker = startModuleWorker(entry, { options } satisfies TrainThreadData);
  let failure: Error | null = null;
  let pending: { resolve: (reply: TrainReply) => void; reject: (error: Error) => void } | null = null;
  const fail = (error: Error) => {
    failure ??= error;
    pending?.reject(failure);
    pending = null;
  };
  worker.on('message', (reply: TrainReply) => {
    const waiting = pending;
    pending = null;
    if (reply.kind === 'failed') fail(new Error(`recommendations: training failed: ${reply.message}`));
    else waiting?.resolve(reply);
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`recommendations: the training thread exited (code ${code})`)));
  const ask = (request: TrainRequest) =>
    new Promise<TrainReply>((resolve, reject) => {
      if (failure) return reject(failure);
      pending = { resolve, reject };
      worker.postMessage(request);
    });
  return {
    async add(rows) {
      await ask({ kind: 'add', rows });
    },
    async finish() {
      const reply = await ask({ kind: 'finish' });
      if (reply.kind !== 'model') throw new Error('recommendations: the training thread gave no model');
      return { data: reply.data, stats: reply.stats };
    },
    async observed(limit) {
      const reply = await ask({ kind: 'observed', limit });
      if (reply.kind !== 'observed') throw new Error('recommendations: the training thread gave no products');
      return reply.products;
    },
    async close() {
      await worker.terminate();
    },
  };
}
