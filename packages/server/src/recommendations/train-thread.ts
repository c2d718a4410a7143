import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../module-worker.js';
import type { Interaction, ModelStats, TrainOptions } from './models/types.js';

export interface TrainThreadData {
  options: TrainOptions;
}
export type TrainRequest = { kind: 'add'; interactions: Interaction[] } | { kind: 'finish' };
export type TrainReply = { kind: 'added' } | { kind: 'model'; data: string; stats: ModelStats } | { kind: 'failed'; message: string };

/** What a training feeds interactions to and gets the model from: a thread, or this thread in tests. */
export interface TrainingSink {
  add(interactions: Interaction[]): Promise<void>;
  /** The model as JSON text, and its figures. */
  finish(): Promise<{ data: string; stats: ModelStats }>;
  /** Stops the thread if the training is given up. */
  abort(): Promise<void>;
}

/**
 * One training on a worker thread of its own: a site's model takes seconds of CPU at a million
 * orders, which must not stall the requests this thread answers. Pages are posted one at a time
 * and each waits for the thread to take it, so no more than one page is ever queued.
 *
 * @example
 * const sink = trainingThread({ ...DEFAULT_TRAIN_OPTIONS, now: Date.now() });
 * await sink.add(interactions);
 * const { data, stats } = await sink.finish();
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
    async add(interactions) {
      await ask({ kind: 'add', interactions });
    },
    async finish() {
      const reply = await ask({ kind: 'finish' });
      await worker.terminate();
      if (reply.kind !== 'model') throw new Error('recommendations: the training thread gave no model');
      return { data: reply.data, stats: reply.stats };
    },
    async abort() {
      await worker.terminate();
    },
  };
}
